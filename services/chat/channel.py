"""One client's live view of a thread, whatever carries it (a socket of its own, or a channel
of the gateway's link): opening, resume, and the frames a client may send.

Resume without gap or duplicate: the channel subscribes to the hub FIRST and holds the live
frames back, then sends the history after ``after`` from the event store, then ``ready``,
then the held frames and everything live, dropping any message whose ``seq`` it already
sent. A message is published only after it is saved and the history is read after
subscribing, so every message is in the history or among the live frames; the ``seq``
check removes the overlap.

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

from pydantic import ValidationError

from services.chat.app import Author
from services.chat.domain import marks_of
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

    @property
    def hub(self) -> Hub:
        return self.s.hub

    # outgoing ---------------------------------------------------------------------------------
    def push(self, seq: int, frame: str) -> None:
        if self.closing:
            return
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
            self.last = seq
        self.sink(frame)

    def close(self, code: int, reason: str) -> None:
        if self.closing:
            return
        self.closing = True
        self.closer(code, reason)

    async def start(self, after: int) -> None:
        """Subscribe, send the history after ``after`` and ``ready``, then go live."""
        self.hub.subscribe(self, self.target.applicant_id)
        last, thread = after, None
        while not self.closing:
            page, thread = await blocking(self.s.chat.history, self.target.id, last, None, PAGE)
            for message in page:
                self.sink(dumps({"type": "message", "message": message}))
                last = message["seq"]
            if len(page) < PAGE:
                break
        if thread is None or last > thread.seq:
            last = thread.seq if thread else 0  # the client claims more than there is: start from ours
        self.last = last
        presence = self.hub.presence.of(self.target.applicant_id)
        self.sink(dumps({"type": "ready", "last_seq": last, "read": marks_of(thread), "presence": presence}))
        self.live = True
        held, self.held = self.held, []
        for seq, frame in held:
            self._emit(seq, frame)

    def stop(self) -> None:
        """The client is gone: leave the hub, drop pending work."""
        self.closing = True
        self.hub.unsubscribe(self)
        if self.worker is not None:
            self.worker.cancel()

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
        self.hub.publish(self.target.key, {**typing, "author_name": author.name}, exclude=self)

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
