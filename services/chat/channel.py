"""One client's live view of a thread, whatever carries it (a socket of its own, or a channel
of the gateway's link): opening, resume, and the frames a client may send.

Resume without gap or duplicate: the channel subscribes to the hub FIRST and holds the live
frames back, then sends the history after ``after`` from the event store, then ``ready``,
then the held frames and everything live, dropping any message whose ``seq`` it already
sent. A message is published only after it is saved and the history is read after
subscribing, so every message is in the history or among the live frames; the ``seq``
check removes the overlap.

With several replicas a message may come twice (from this process's command and from the
follower) and out of order (another replica's message 5, heard through the store, after this
one's 6): a message beyond the next one expected sends the history in between first, read
from the store (held frames wait meanwhile), and a read receipt not beyond one already sent
for the same reader is dropped, so each message and receipt reaches the client once, in order.

Server → client frames (JSON text):
  {"type": "message", "message": {id, seq, author_*, text, attachments, at, client_id}}
  {"type": "ready", "last_seq", "read": {consumer, staff}, "presence": {...}}  (history sent)
  {"type": "typing", "author_id", "author_role", "author_name"}
  {"type": "read", "reader_id", "reader_role", "up_to_seq", "read": {consumer, staff}}
  {"type": "presence", "staff_online", "staff_last_seen", "applicant_online", "applicant_last_seen"}
  {"type": "ack", "client_id", "id", "seq", "duplicate"}  (after a "send")
  {"type": "error", "client_id"?, "status", "code", "message"}
  {"type": "pong"}
Client → server: {"type": "send", "client_id", "text", "attachments"}, {"type": "typing"},
{"type": "read", "up_to_seq"}, {"type": "ping"}.
Close codes: 4401 not authenticated / session ended, 4404 not found (or not yours), 4422 ``after``
beyond any sequence, 4008 too slow (reconnect and resume), 1009 frame too big, 1008 too many
frames queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from collections.abc import Callable

import structlog
from pydantic import ValidationError

from services.chat.app import Author, Receipt
from services.chat.domain import Thread, marks_of
from services.chat.hub import Hub, Subscriber, dumps
from services.chat.models import MAX_SEQ, PostIn
from services.chat.usecases import ChatState, Target, mark_read, open_chat, send_message
from shared.auth import Principal, not_authenticated
from shared.chatlink import MAX_FRAME
from shared.errors import DomainError, Invalid, Refused
from shared.runtime import blocking

MAX_INBOX = 64  # client frames waiting to be handled
MAX_HELD = 1024  # live frames held back while the history goes out
TYPING_EVERY = 2.0  # seconds between forwarded typing frames of one client
PAGE = 200
FILL_ATTEMPTS = 3  # looks at the store for a message between two pushed ones before resuming anew

log = structlog.get_logger(__name__)

Sink = Callable[[str], None]
Closer = Callable[[int, str], None]


async def open_target(
    s: ChatState, token: str | None, application_id: str
) -> tuple[Principal, Target, Author]:
    """Authenticate like HTTP and check access to the thread (a DomainError 401 / 404 otherwise)."""
    if not token:
        raise not_authenticated()
    principal = await s.auth.authenticate(token)
    target, author = await open_chat(s, application_id, principal)
    return principal, target, author


def after_out_of_range() -> Invalid:
    return Invalid("validation_error", f"Номер сообщения — не больше {MAX_SEQ}.")


def error_frame(exc: DomainError, client_id: str | None = None) -> str:
    frame: dict[str, object] = {
        "type": "error",
        "status": exc.status,
        "code": exc.code,
        "message": exc.message,
    }
    if client_id:
        frame["client_id"] = client_id
    return dumps(frame)


class Channel(Subscriber):
    """A subscriber that resumes after a sequence number and handles the client's frames.
    ``sink`` takes each outgoing frame (must not block); ``closer`` closes the client's side."""

    def __init__(
        self, s: ChatState, target: Target, author: Author, session_id: str, sink: Sink, closer: Closer
    ) -> None:
        super().__init__(target.key, author.account_id, session_id, author.role)
        self.s = s
        self.target = target
        self.author = author
        self.sink = sink
        self.closer = closer
        self.last = 0
        self.live = False
        self.held: list[tuple[int, str]] = []
        self.inbox: deque[str] = deque()
        self.worker: asyncio.Task[None] | None = None
        self.last_typing = 0.0
        self.receipts: dict[str, int] = {}  # reader → the highest up_to_seq sent
        self.filling: asyncio.Task[None] | None = None

    @property
    def hub(self) -> Hub:
        return self.s.hub

    # outgoing ---------------------------------------------------------------------------------
    def push(self, seq: int, frame: str, receipt: Receipt | None = None) -> None:
        if self.closing:
            return
        if receipt is not None:
            reader, up_to = receipt["reader_id"], receipt["up_to_seq"]
            if up_to <= self.receipts.get(reader, 0):
                return  # sent already (it came both from here and through the store)
            self.receipts[reader] = up_to
        if not self.live:
            if len(self.held) >= MAX_HELD:
                self.close(4008, "too_slow_reconnect")
                return
            self.held.append((seq, frame))
            return
        self._emit(seq, frame)

    def _emit(self, seq: int, frame: str) -> None:
        if seq:
            if seq <= self.last:
                return  # already sent with the history
            if seq > self.last + 1:  # one in between is not here yet: from the store first
                self.live = False
                self.held.append((seq, frame))
                self.filling = asyncio.get_running_loop().create_task(self._fill())
                return
            self.last = seq
        self.sink(frame)

    async def _fill(self) -> None:
        """Send what lies between the last message sent and a later one, then go live again."""
        wanted = self.held[0][0] - 1 if self.held else self.last
        try:
            for attempt in range(FILL_ATTEMPTS):
                await self._history(self.last)
                if self.last >= wanted or self.closing:
                    break
                self.s.chat.forget(self.target.id)  # a copy older than what was pushed: reread
                await asyncio.sleep(0.05 * (attempt + 1))
            else:
                raise RuntimeError("the store does not show a message that was pushed")
        except Exception:
            log.exception("chat.fill_failed", thread=self.thread_id, after=self.last, wanted=wanted)
            if not self.closing:
                self.close(1011, "internal_error")  # the client reconnects and resumes
            return
        self._go_live()

    async def _history(self, after: int) -> Thread | None:
        """Send the messages after ``after`` from the store; the thread as read."""
        last, thread = after, None
        while not self.closing:
            page, thread = await blocking(self.s.chat.history, self.target.id, last, None, PAGE)
            for message in page:
                if message["seq"] > self.last:
                    self.sink(dumps({"type": "message", "message": message}))
                    self.last = message["seq"]
                last = message["seq"]
            if len(page) < PAGE:
                break
        return thread

    def _go_live(self) -> None:
        self.live = True
        while self.live and self.held:
            held, self.held = self.held, []
            for i, (seq, frame) in enumerate(held):
                self._emit(seq, frame)
                if not self.live:  # a gap again: the rest waits behind it
                    self.held.extend(held[i + 1 :])
                    break

    def close(self, code: int, reason: str) -> None:
        if self.closing:
            return
        self.closing = True
        self.closer(code, reason)

    async def start(self, after: int) -> None:
        """Subscribe, send the history after ``after`` and ``ready``, then go live."""
        self.hub.subscribe(self, self.target.applicant_id)
        self.last = after
        thread = await self._history(after)
        if thread is None or self.last > thread.seq:
            self.last = thread.seq if thread else 0  # the client claims more than there is: start from ours
        presence = self.hub.presence.of(self.target.applicant_id)
        marks = marks_of(thread)
        self.sink(dumps({"type": "ready", "last_seq": self.last, "read": marks, "presence": presence}))
        self._go_live()

    def stop(self) -> None:
        """The client is gone: leave the hub, drop pending work."""
        self.closing = True
        self.hub.unsubscribe(self)
        if self.worker is not None:
            self.worker.cancel()
        if self.filling is not None:
            self.filling.cancel()

    # incoming ---------------------------------------------------------------------------------
    def feed(self, raw: str) -> None:
        """A frame from the client; handled in order, one at a time."""
        if self.closing:
            return
        if len(raw) > MAX_FRAME:
            self.close(1009, "frame_too_big")
            return
        if len(self.inbox) >= MAX_INBOX:
            self.close(1008, "too_many_frames")
            return
        self.inbox.append(raw)
        if self.worker is None:
            self.worker = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self.inbox and not self.closing:
                await self.handle(self.inbox.popleft())
        finally:
            self.worker = None

    async def handle(self, raw: str) -> None:
        try:
            frame = json.loads(raw)
        except ValueError:
            frame = None
        if not isinstance(frame, dict):
            self.sink(error_frame(Refused("malformed_json", "Кадр не является объектом JSON.")))
            return
        kind = frame.get("type")
        if kind == "send":
            await self._send(frame)
        elif kind == "typing":
            self._typing()
        elif kind == "read":
            await self._read(frame.get("up_to_seq"))
        elif kind == "ping":
            self.sink(dumps({"type": "pong"}))
        else:
            self.sink(error_frame(Refused("unknown_frame", "Неизвестный тип кадра.")))

    def _typing(self) -> None:
        now = time.monotonic()
        if now - self.last_typing < TYPING_EVERY:
            return
        self.last_typing = now
        author = self.author
        typing = {"type": "typing", "author_id": author.account_id, "author_role": author.role}
        self.hub.typing(self.target.key, {**typing, "author_name": author.name}, exclude=self)

    async def _read(self, up_to: object) -> None:
        if not isinstance(up_to, int) or isinstance(up_to, bool) or not 0 <= up_to <= MAX_SEQ:
            self.sink(error_frame(Invalid("validation_error", "Укажите номер сообщения.")))
            return
        try:
            await mark_read(self.s, self.target, self.author, up_to)
        except DomainError as exc:
            self.sink(error_frame(exc))

    async def _send(self, frame: dict[str, object]) -> None:
        given = frame.get("client_id")
        client_id = given if isinstance(given, str) else None
        try:
            body = PostIn.model_validate(
                {k: frame[k] for k in ("text", "attachments", "client_id") if k in frame}
            )
            message, created = await send_message(self.s, self.target, self.author, body)
        except ValidationError:
            invalid = Invalid("validation_error", "Проверьте сообщение: текст, вложения, идентификатор.")
            self.sink(error_frame(invalid, client_id))
            return
        except DomainError as exc:
            self.sink(error_frame(exc, client_id))
            return
        # The message itself reached this client through the hub before this answer.
        ack = {"type": "ack", "client_id": client_id, "id": message["id"], "seq": message["seq"]}
        self.sink(dumps({**ack, "duplicate": not created}))


def stop_soon(channel: Channel) -> None:
    """Leave the hub on the next loop turn (never while the hub iterates its subscribers)."""
    with contextlib.suppress(RuntimeError):
        asyncio.get_running_loop().call_soon(channel.stop)
