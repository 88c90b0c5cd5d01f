"""Chat's command side: one eventsourcing Application per process, called from worker threads.

Commands on one thread are serialised by a per-thread lock, so sequence numbers, the
idempotency check and the rate limit are decided on the latest state, and the live
fan-out (``on_posted`` / ``on_read``) is called in sequence order right after the save,
before the lock is released. The chat service runs as a single process (see
services/chat/README.md): the locks, the rate limiter and the aggregate cache are in memory.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from services.chat.domain import CONSUMER, STAFF, Thread
from shared.http import ApiError
from shared.settings import Settings

_MESSAGE_NS = uuid.UUID("0b7f3c8e-51a4-4c6b-8d2e-3f9a1c5e7d20")

Message = dict[str, Any]
Callback = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class Author:
    account_id: str
    role: str  # consumer | staff
    name: str


def role_of(roles: tuple[str, ...] | list[str]) -> str:
    return STAFF if STAFF in roles else CONSUMER


def rate_limited(retry_after: float) -> ApiError:
    seconds = max(1, int(retry_after + 0.999))
    return ApiError(
        429,
        "too_many_messages",
        f"Слишком много сообщений подряд. Повторите через {seconds} с.",
        headers={"retry-after": str(seconds)},
    )


def conflict() -> ApiError:
    return ApiError(409, "conflict", "Переписка изменилась одновременно с вашим действием, повторите его.")


class RateLimiter:
    """At most ``limit`` hits per ``window`` seconds per key (a sliding window, in memory)."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._hits: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: tuple[str, str]) -> float:
        """0 when a hit is allowed now, else the seconds to wait."""
        now = self.clock()
        with self._lock:
            hits = self._hits.get(key)
            if not hits:
                return 0.0
            while hits and now - hits[0] >= self.window:
                hits.popleft()
            if len(hits) < self.limit:
                return 0.0
            return self.window - (now - hits[0])

    def record(self, key: tuple[str, str]) -> None:
        now = self.clock()
        with self._lock:
            self._hits.setdefault(key, deque()).append(now)
            if len(self._hits) > 10_000:  # forget idle keys
                for stale in [k for k, v in self._hits.items() if not v or now - v[-1] >= self.window]:
                    del self._hits[stale]


def message_out(thread_id: str, event: Any) -> Message:
    """The public shape of one message, from its MessagePosted event."""
    return {
        "id": event.message_id,
        "seq": event.seq,
        "thread_id": thread_id,
        "author_id": event.author_id,
        "author_role": event.role,
        "author_name": event.author_name,
        "text": event.text,
        "attachments": list(event.attachments),
        "at": event.at,
        "client_id": event.client_id or None,
    }


class ChatApp(Application[uuid.UUID]):
    name = "chat"
    # Long threads load from a snapshot plus the events after it.
    snapshotting_intervals = {Thread: 200}  # noqa: RUF012 - the library's class attribute

    def __init__(self, settings: Settings, env: dict[str, str] | None = None) -> None:
        super().__init__(
            {
                **settings.eventstore_env("chat"),
                # One chat process writes this store, so the cache is always current.
                "AGGREGATE_CACHE_MAXSIZE": "5000",
                "AGGREGATE_CACHE_FASTFORWARD": "n",
                **(env or {}),
            }
        )
        self.settings = settings
        self.on_saved: Callable[[], None] = lambda: None
        self.on_posted: Callback = lambda thread_id, message: None
        self.on_read: Callback = lambda thread_id, receipt: None
        self.limiter = RateLimiter(20, 10.0)
        self._locks: dict[uuid.UUID, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def _lock(self, thread_id: uuid.UUID) -> threading.Lock:
        with self._locks_guard:
            lock = self._locks.get(thread_id)
            if lock is None:
                lock = self._locks[thread_id] = threading.Lock()
            return lock

    def find(self, thread_id: uuid.UUID, *, copy: bool = False) -> Thread | None:
        """The thread, or None before its first message. ``copy`` for commands (they mutate it)."""
        try:
            return cast(Thread, self.repository.get(thread_id, deepcopy_from_cache=copy))
        except AggregateNotFoundError:
            return None

    # commands -------------------------------------------------------------------------------
    def post(
        self,
        thread_id: uuid.UUID,
        applicant_id: str,
        author: Author,
        text: str,
        attachments: list[dict[str, Any]],
        client_id: str = "",
    ) -> tuple[Message, bool]:
        """Post a message; (message, created). A repeated client id returns the first message."""
        with self._lock(thread_id):
            thread = self.find(thread_id, copy=True)
            if thread is not None:
                known = thread.seq_of(author.account_id, client_id)
                if known is not None:
                    return self.messages(thread_id, known - 1, known, thread)[0], False
            key = (author.account_id, str(thread_id))
            wait = self.limiter.retry_after(key)
            if wait > 0:
                raise rate_limited(wait)
            if thread is None:
                thread = Thread(id=thread_id, applicant_id=applicant_id)
            seq = thread.seq + 1
            thread.post(
                seq=seq,
                message_id=str(uuid.uuid5(_MESSAGE_NS, f"{thread_id}/{seq}")),
                client_id=client_id,
                author_id=author.account_id,
                role=author.role,
                author_name=author.name,
                text=text,
                attachments=attachments,
                at=datetime.now(UTC).isoformat(),
                applicant_id=thread.applicant_id,
            )
            try:
                recordings = self.save(thread)
            except IntegrityError:
                raise conflict() from None
            self.limiter.record(key)
            event = recordings[-1].domain_event
            message = message_out(str(thread_id), event)
            self.on_saved()
            self.on_posted(str(thread_id), message)
            return message, True

    def read(self, thread_id: uuid.UUID, reader: Author, up_to_seq: int) -> Thread | None:
        """Record that ``reader`` has read the thread up to ``up_to_seq`` (no-op if not further)."""
        with self._lock(thread_id):
            thread = self.find(thread_id, copy=True)
            last = thread.seq if thread else 0
            if up_to_seq > last:
                raise ApiError(
                    422,
                    "beyond_last_message",
                    f"В переписке нет сообщения № {up_to_seq} (последнее — {last}).",
                )
            if thread is None or up_to_seq <= thread.read_marks.get(reader.account_id, 0):
                return thread
            thread.read(reader_id=reader.account_id, role=reader.role, up_to_seq=up_to_seq)
            try:
                self.save(thread)
            except IntegrityError:
                raise conflict() from None
            self.on_saved()
            self.on_read(
                str(thread_id),
                {
                    "reader_id": reader.account_id,
                    "reader_role": reader.role,
                    "up_to_seq": up_to_seq,
                    "read": dict(thread.role_marks),
                },
            )
            return thread

    # queries ----------------------------------------------------------------------------------
    def messages(
        self, thread_id: uuid.UUID, after: int, upto: int, thread: Thread | None = None
    ) -> list[Message]:
        """Messages with ``after < seq <= upto``, read from the event store by version range."""
        thread = thread or self.find(thread_id)
        if thread is None:
            return []
        first, last = max(after, 0) + 1, min(upto, thread.seq)
        if first > last:
            return []
        stored = self.recorder.select_events(
            thread_id, gt=thread.versions[first - 1] - 1, lte=thread.versions[last - 1]
        )
        out = []
        for item in stored:
            event = self.mapper.to_domain_event(item)
            if type(event).__qualname__ == "Thread.MessagePosted":
                out.append(message_out(str(thread_id), event))
        return out

    def history(
        self, thread_id: uuid.UUID, after: int = 0, before: int | None = None, limit: int = 50
    ) -> tuple[list[Message], Thread | None]:
        """A page: the first ``limit`` after ``after``, or the last ``limit`` before ``before``."""
        thread = self.find(thread_id)
        if thread is None:
            return [], None
        top = thread.seq if before is None else min(before - 1, thread.seq)
        if before is None:
            return self.messages(thread_id, after, min(after + limit, top), thread), thread
        return self.messages(thread_id, max(after, top - limit), top, thread), thread
