"""Chat's command side: one eventsourcing Application per process, called from worker threads.

Commands on one thread are serialised in the process by a per-thread lock, and the live
fan-out (``on_posted`` / ``on_read``) is called in sequence order right after the save,
before the lock is released. Commands on different threads that save at the same moment
share one transaction (:class:`GroupCommit`): a transaction costs the store about a
millisecond of CPU and a lock on the events table whatever it holds, an event a tenth of that.

Several processes (replicas) may write one store. The store decides between them: a save
whose thread another replica extended meanwhile fails on the version (IntegrityError), and
the command drops its cached copy, reloads the thread and decides again (a few times), so the
sequence number, the idempotency check (``client_id``) and the flood limit (counted on the
thread's own message times, services/chat/limiter.py) are decided on the thread as stored.
The single process never loses such a race, and its cache stays current without a query per
look-up (services/chat/README.md).
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, TypedDict

from eventsourcing.persistence import IntegrityError, Recording

from services.chat.domain import Attachment, Thread, marks_of
from services.chat.limiter import FloodLimit
from shared.application import ServiceApplication
from shared.errors import Conflict, Invalid, TooMany
from shared.settings import Settings

_MESSAGE_NS = uuid.UUID("0b7f3c8e-51a4-4c6b-8d2e-3f9a1c5e7d20")


class Message(TypedDict):
    """The public shape of one message (HTTP answers and socket frames)."""

    id: str
    seq: int
    thread_id: str
    author_id: str
    author_role: str
    author_name: str
    text: str
    attachments: list[Attachment]
    at: str
    client_id: str | None


class Receipt(TypedDict):
    reader_id: str
    reader_role: str
    up_to_seq: int
    read: dict[str, int]


@dataclass(frozen=True)
class Author:
    account_id: str
    role: str  # consumer | staff
    name: str


def message_out(thread_id: str, event: Thread.MessagePosted) -> Message:
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


class _NotSaved(Exception):
    """What a waiting command raises if its group's save never finished (interrupted)."""


class _Waiting:
    """One command's aggregate, waiting in :class:`GroupCommit` for its transaction."""

    def __init__(self, aggregate: Thread) -> None:
        self.aggregate = aggregate
        self.events = list(aggregate.pending_events)  # the save takes them off the aggregate
        self.done = threading.Event()
        self.lead = False  # woken to save the next group, not because it was saved
        self.error: BaseException | None = _NotSaved()


class GroupCommit:
    """Saves the aggregates of concurrent commands together (group commit).

    The first command to arrive saves at once; commands that arrive while a save is in the
    store wait, and all of them go in the next transaction, written by the first of them.
    No command returns before its own transaction committed. If a group's transaction fails,
    each of its aggregates is saved again alone, so a conflict (or any error) reaches only the
    command it belongs to. A lone command is saved exactly as before."""

    def __init__(self, save: Callable[..., object]) -> None:
        self._save = save
        self._guard = threading.Lock()
        self._queue: list[_Waiting] = []
        self._busy = False
        self.groups = 0  # transactions written (/health shows it)
        self.largest = 0  # the most aggregates one of them held

    def save(self, aggregate: Thread) -> None:
        me = _Waiting(aggregate)
        with self._guard:
            self._queue.append(me)
            lead = not self._busy
            self._busy = True
        if not lead:
            me.done.wait()
        if lead or me.lead:
            with self._guard:
                group, self._queue = self._queue, []
            try:
                self._write(group)
            finally:
                with self._guard:
                    if self._queue:  # already waiting: the first of them writes the next group
                        self._queue[0].lead = True
                        self._queue[0].done.set()
                    else:
                        self._busy = False
        if me.error is not None:
            raise me.error

    def _write(self, group: list[_Waiting]) -> None:
        try:
            self._save(*(w.aggregate for w in group))
            for waiting in group:
                waiting.error = None
        except Exception as exc:  # noqa: BLE001 - each command is given its own error
            if len(group) == 1:
                group[0].error = exc
            else:
                for waiting in group:  # alone, so that each command gets its own answer
                    waiting.aggregate.pending_events[:] = waiting.events
                    try:
                        self._save(waiting.aggregate)
                        waiting.error = None
                    except Exception as own:  # noqa: BLE001 - raised in its own command
                        waiting.error = own
        finally:
            self.groups += 1
            self.largest = max(self.largest, len(group))
            for waiting in group:
                waiting.lead = False
                waiting.done.set()


class OwnWrites:
    """The notification ids this process wrote, until the follower has passed them."""

    def __init__(self) -> None:
        self._ids: set[int] = set()
        self._guard = threading.Lock()

    def add(self, ids: Iterable[int]) -> None:
        with self._guard:
            self._ids.update(ids)

    def take(self, notification_id: int) -> bool:
        """Was it written here? (Each id is answered once.)"""
        with self._guard:
            if notification_id in self._ids:
                self._ids.remove(notification_id)
                return True
            return False

    def drop_upto(self, notification_id: int) -> None:
        """Forget the ids up to ``notification_id`` (added after the follower passed them)."""
        with self._guard:
            if self._ids:
                self._ids = {i for i in self._ids if i > notification_id}

    def __len__(self) -> int:
        return len(self._ids)


def _conflict() -> Conflict:
    return Conflict("conflict", "Переписка изменилась одновременно с вашим действием, повторите его.")


ATTEMPTS = 8  # a command that loses the race for its thread this many times in a row answers 409
RACE_PAUSE = 0.004  # before the n-th new attempt, a random pause of up to this × 2^n seconds
FORGET_AFTER = 100_000  # threads remembered as written elsewhere before the memory starts afresh


class ChatApp(ServiceApplication):
    name = "chat"
    # The cache is not fast-forwarded on every look-up (a query per command): this process's
    # commands keep it current, the follower (services/chat/follow.py) marks a thread another
    # replica wrote (``written_elsewhere``), and a command whose save lost a race to another
    # replica drops its copy, reloads the thread and decides again.
    store_env: ClassVar[dict[str, str]] = {
        "AGGREGATE_CACHE_MAXSIZE": "5000",
        "AGGREGATE_CACHE_FASTFORWARD": "n",
    }
    # Long threads load from a snapshot plus the events after it.
    snapshotting_intervals = {Thread: 200}  # noqa: RUF012 - the library's class attribute

    def __init__(self, settings: Settings, env: dict[str, str] | None = None) -> None:
        super().__init__(settings, env)
        self.on_posted: Callable[[str, Message], None] = lambda thread_id, message: None
        self.on_read: Callable[[str, Receipt], None] = lambda thread_id, receipt: None
        self.flood = FloodLimit(20, 10.0)
        self._locks: dict[uuid.UUID, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self.group_commit = GroupCommit(self.commit)
        self.conflicts = 0  # saves that lost a race to another replica and were decided again
        # Notification ids this process wrote, while a follower wants to tell them apart.
        self.own: OwnWrites | None = None
        self._elsewhere: dict[uuid.UUID, int] = {}  # thread → a version another process stored

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[uuid.UUID]]:
        recordings = super().save(*objs, **kwargs)
        own = self.own
        if own is not None:
            own.add(r.notification.id for r in recordings)
        return recordings

    def _lock(self, thread_id: uuid.UUID) -> threading.Lock:
        with self._locks_guard:
            lock = self._locks.get(thread_id)
            if lock is None:
                lock = self._locks[thread_id] = threading.Lock()
            return lock

    def thread(self, thread_id: uuid.UUID, *, copy: bool = False) -> Thread | None:
        """The thread, or None before its first message. ``copy`` for commands (they mutate it).
        A cached copy older than what another replica is known to have stored is reloaded."""
        found = self.find(thread_id, Thread, copy=copy)
        newer = self._elsewhere.get(thread_id)
        if newer is not None and (found is None or found.version < newer):
            self.forget(thread_id)
            found = self.find(thread_id, Thread, copy=copy)
        return found

    def forget(self, thread_id: uuid.UUID) -> None:
        """Drop the cached copy of the thread: the next look-up reads it from the store."""
        cache = self.repository.cache
        if cache is not None:
            with contextlib.suppress(KeyError):
                cache.get(thread_id, evict=True)

    def written_elsewhere(self, thread_id: uuid.UUID, version: int) -> None:
        """Another process stored ``version`` of the thread (the follower saw it committed)."""
        if len(self._elsewhere) >= FORGET_AFTER:
            self._elsewhere.clear()
        self._elsewhere[thread_id] = max(version, self._elsewhere.get(thread_id, 0))
        self.forget(thread_id)

    def _saved(self, thread: Thread) -> bool:
        """Save the command's thread; False if another replica wrote the thread meanwhile
        (the cached copy is dropped: the caller reloads it and decides again)."""
        try:
            self.group_commit.save(thread)
        except IntegrityError:
            self.conflicts += 1
            self.forget(thread.id)
            return False
        return True

    @staticmethod
    def _pause(attempt: int) -> None:
        """Between attempts of a command that lost a race: the other replica's command, whose
        copy is current, would otherwise win again and again (random, so both do not wait alike)."""
        if attempt:
            time.sleep(random.uniform(0, RACE_PAUSE * 2**attempt))

    # commands -------------------------------------------------------------------------------
    def post(
        self,
        thread_id: uuid.UUID,
        applicant_id: str,
        author: Author,
        text: str,
        attachments: list[Attachment],
        client_id: str = "",
    ) -> tuple[Message, bool]:
        """Post a message; (message, created). A repeated client id returns the first message,
        also when another replica stored it a moment ago."""
        with self._lock(thread_id):
            for attempt in range(ATTEMPTS):
                self._pause(attempt)
                thread = self.thread(thread_id, copy=True)
                if thread is not None:
                    known = thread.seq_of(author.account_id, client_id)
                    if known is not None:
                        return self.messages(thread_id, known - 1, known, thread)[0], False
                wait = self.flood.retry_after(thread.posted_at(author.account_id) if thread else ())
                if wait > 0:
                    seconds = max(1, int(wait + 0.999))
                    message = f"Слишком много сообщений подряд. Повторите через {seconds} с."
                    raise TooMany("too_many_messages", message, retry_after=seconds)
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
                event = thread.pending_events[-1]
                assert isinstance(event, Thread.MessagePosted)
                if not self._saved(thread):
                    continue
                posted = message_out(str(thread_id), event)
                self.on_posted(str(thread_id), posted)
                return posted, True
            raise _conflict()

    def read(self, thread_id: uuid.UUID, reader: Author, up_to_seq: int) -> Thread | None:
        """Record that ``reader`` has read the thread up to ``up_to_seq`` (no-op if not further)."""
        with self._lock(thread_id):
            for attempt in range(ATTEMPTS):
                self._pause(attempt)
                thread = self.thread(thread_id, copy=True)
                last = thread.seq if thread else 0
                if up_to_seq > last:
                    message = f"В переписке нет сообщения № {up_to_seq} (последнее — {last})."
                    raise Invalid("beyond_last_message", message)
                if thread is None or up_to_seq <= thread.read_marks.get(reader.account_id, 0):
                    return thread
                thread.read(reader_id=reader.account_id, role=reader.role, up_to_seq=up_to_seq)
                if not self._saved(thread):
                    continue
                receipt: Receipt = {
                    "reader_id": reader.account_id,
                    "reader_role": reader.role,
                    "up_to_seq": up_to_seq,
                    "read": marks_of(thread),
                }
                self.on_read(str(thread_id), receipt)
                return thread
            raise _conflict()

    # queries ----------------------------------------------------------------------------------
    def messages(
        self, thread_id: uuid.UUID, after: int, upto: int, thread: Thread | None = None
    ) -> list[Message]:
        """Messages with ``after < seq <= upto``, read from the event store by version range."""
        thread = thread or self.thread(thread_id)
        if thread is None:
            return []
        first, last = max(after, 0) + 1, min(upto, thread.seq)
        if first > last:
            return []
        stored = self.recorder.select_events(
            thread_id, gt=thread.versions[first - 1] - 1, lte=thread.versions[last - 1]
        )
        events = (self.mapper.to_domain_event(item) for item in stored)
        return [message_out(str(thread_id), e) for e in events if isinstance(e, Thread.MessagePosted)]

    def history(
        self, thread_id: uuid.UUID, after: int = 0, before: int | None = None, limit: int = 50
    ) -> tuple[list[Message], Thread | None]:
        """A page: the first ``limit`` after ``after``, or the last ``limit`` before ``before``."""
        thread = self.thread(thread_id)
        if thread is None:
            return [], None
        top = thread.seq if before is None else min(before - 1, thread.seq)
        if before is None:
            return self.messages(thread_id, after, min(after + limit, top), thread), thread
        return self.messages(thread_id, max(after, top - limit), top, thread), thread
