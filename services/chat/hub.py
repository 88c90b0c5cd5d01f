"""In-process live fan-out of a thread's messages, typing and read receipts to its open
sockets, and presence changes (:mod:`services.chat.presence`).

The hub lives on the chat process's event loop. Commands call it right after their save
(through ``loop.call_soon_threadsafe``, in sequence order), so the live push waits on
neither the relay, nor Kafka, nor the notifier. It serves the sockets of this one chat
process; the chat service runs as one process (services/chat/README.md).

A frame is serialised once per event, not once per subscriber. A subscriber that falls too
far behind is closed with 4008; its client reconnects with ``?after=<last seq>`` and loses
nothing (:mod:`services.chat.channel`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping

import structlog

from services.chat.app import ChatApp, Message, Receipt
from services.chat.domain import CONSUMER, STAFF
from services.chat.presence import Presence
from shared.readstore import ReadStore

log = structlog.get_logger(__name__)

Frame = Mapping[str, object]


def dumps(frame: Frame) -> str:
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


class Subscriber:
    """Receives one thread's frames for one client: a socket of its own, or a channel of the
    gateway's link (:mod:`services.chat.channel`). ``push`` must not block."""

    def __init__(self, thread_id: str, account_id: str, session_id: str, role: str) -> None:
        self.thread_id = thread_id
        self.account_id = account_id
        self.session_id = session_id
        self.role = role
        self.closing = False

    def push(self, seq: int, frame: str) -> None:
        """Deliver ``frame`` (``seq`` > 0 for a message, to deliver each once)."""
        raise NotImplementedError

    def close(self, code: int, reason: str) -> None:
        """Close the client's socket (after what was already delivered)."""
        raise NotImplementedError


class Hub:
    """Threads → open sockets; publishes frames and presence changes."""

    def __init__(self, presence: Presence) -> None:
        self.presence = presence
        self.threads: dict[str, set[Subscriber]] = {}
        self.applicants: dict[str, str] = {}  # thread → applicant, for threads with sockets
        self._staff_online = False
        self._online: dict[str, bool] = {}  # applicant → last broadcast state

    @classmethod
    async def open(cls, store: ReadStore, chat: ChatApp) -> Hub:
        """The process's hub: presence as stored, following ``chat``'s commands."""
        presence = Presence(store)
        await presence.load()
        hub = cls(presence)
        hub.follow(chat)
        return hub

    @property
    def sockets(self) -> int:
        return sum(len(subs) for subs in self.threads.values())

    def subscribe(self, sub: Subscriber, applicant_id: str) -> None:
        self.threads.setdefault(sub.thread_id, set()).add(sub)
        self.applicants[sub.thread_id] = applicant_id
        self.presence.connected(sub.account_id, sub.role)
        self.refresh(sub.account_id, sub.role)

    def unsubscribe(self, sub: Subscriber) -> None:
        subs = self.threads.get(sub.thread_id)
        if subs is None or sub not in subs:
            return
        subs.discard(sub)
        if not subs:
            del self.threads[sub.thread_id]
            self.applicants.pop(sub.thread_id, None)
        self.presence.disconnected(sub.account_id, sub.role)
        self.refresh(sub.account_id, sub.role)

    def publish(self, thread_id: str, frame: Frame, seq: int = 0, exclude: Subscriber | None = None) -> None:
        subs = self.threads.get(thread_id)
        if not subs:
            return
        text = dumps(frame)
        for sub in subs:
            if sub is not exclude:
                sub.push(seq, text)

    # called by the commands (via call_soon_threadsafe) ------------------------------------------
    def follow(self, chat: ChatApp) -> None:
        """Push what ``chat``'s commands save. They call back from their worker thread, under
        the thread's lock, so the frames are queued on this loop in sequence order."""
        loop = asyncio.get_running_loop()

        def posted(thread_id: str, message: Message) -> None:
            loop.call_soon_threadsafe(self.message, thread_id, message)

        def read(thread_id: str, receipt: Receipt) -> None:
            loop.call_soon_threadsafe(self.read, thread_id, receipt)

        chat.on_posted = posted
        chat.on_read = read

    def message(self, thread_id: str, message: Message) -> None:
        self.publish(thread_id, {"type": "message", "message": message}, seq=message["seq"])

    def read(self, thread_id: str, receipt: Receipt) -> None:
        self.publish(thread_id, {"type": "read", **receipt})

    def activity(self, account_id: str, role: str) -> None:
        """An HTTP action of ``account_id``: counts as being online for a while."""
        self.presence.touch(account_id, role)
        self.refresh(account_id, role)

    # presence ---------------------------------------------------------------------------------
    def presence_frame(self, thread_id: str) -> Frame:
        return {"type": "presence", **self.presence.of(self.applicants.get(thread_id, ""))}

    def refresh(self, account_id: str, role: str) -> None:
        """Broadcast presence where it changed because of ``account_id``."""
        if role == STAFF:
            self._refresh_staff()
        elif role == CONSUMER:
            self._refresh_applicant(account_id)

    def _refresh_staff(self) -> None:
        now = self.presence.staff_online()
        if now != self._staff_online:
            self._staff_online = now
            for thread_id in list(self.threads):
                self.publish(thread_id, self.presence_frame(thread_id))

    def _refresh_applicant(self, account_id: str) -> None:
        now = self.presence.online(account_id)
        if now != self._online.get(account_id, False):
            self._online[account_id] = now
            for thread_id, applicant in list(self.applicants.items()):
                if applicant == account_id:
                    self.publish(thread_id, self.presence_frame(thread_id))
            if not now:
                self._online.pop(account_id, None)

    def tick(self, open_sessions: Callable[[str], bool]) -> None:
        """Periodic: presence that expired with time; sockets whose session ended (logout)."""
        self._refresh_staff()
        for applicant in list(self._online):
            self._refresh_applicant(applicant)
        for subs in self.threads.values():
            for sub in subs:
                if not open_sessions(sub.session_id):
                    sub.close(4401, "session_ended")

    async def maintain(self, open_sessions: Callable[[str], bool], every: float = 5.0) -> None:
        while True:
            await asyncio.sleep(every)
            self.tick(open_sessions)
            try:
                await self.presence.flush()
            except Exception:
                log.exception("chat.presence_flush_failed")
