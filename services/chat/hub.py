"""Live fan-out of a thread's messages, typing and read receipts to this process's open
sockets, and presence changes (:mod:`services.chat.presence`).

The hub lives on the chat process's event loop. This process's commands call it right after
their save (through ``loop.call_soon_threadsafe``, in sequence order), so the live push waits
on neither the relay, nor Kafka, nor the notifier. With several chat processes (replicas),
what the others commit comes from the follower (:mod:`services.chat.follow`, the event store
tailed from its end), and their typing and presence over the live bus
(:mod:`services.chat.live`); a channel delivers each message and receipt once, in order,
whichever way it came first (:mod:`services.chat.channel`).

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
from services.chat.live import LiveBus, chunks
from services.chat.presence import Presence
from shared.readstore import ReadStore

log = structlog.get_logger(__name__)

Frame = Mapping[str, object]
TELL_EVERY = 1.0  # seconds: the other replicas hear of an account's actions at most this often


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

    def push(self, seq: int, frame: str, receipt: Receipt | None = None) -> None:
        """Deliver ``frame`` (``seq`` > 0 for a message, ``receipt`` for a read receipt: what
        delivers each once)."""
        raise NotImplementedError

    def close(self, code: int, reason: str) -> None:
        """Close the client's socket (after what was already delivered)."""
        raise NotImplementedError


class Hub:
    """Threads → open sockets; publishes frames and presence changes."""

    def __init__(self, presence: Presence, bus: LiveBus | None = None) -> None:
        self.presence = presence
        self.bus = bus or LiveBus()
        self.threads: dict[str, set[Subscriber]] = {}
        self.applicants: dict[str, str] = {}  # thread → applicant, for threads with sockets
        self._staff_online = False
        self._online: dict[str, bool] = {}  # applicant → last broadcast state
        self._told: dict[str, tuple[float, bool]] = {}  # account → (when, had sockets) last told others
        self.bus.heard = self.heard

    @classmethod
    async def open(cls, store: ReadStore, chat: ChatApp, bus: LiveBus | None = None) -> Hub:
        """The process's hub: presence as stored, following ``chat``'s commands."""
        presence = Presence(store)
        await presence.load()
        hub = cls(presence, bus)
        hub.follow(chat)
        return hub

    @property
    def sockets(self) -> int:
        return sum(len(subs) for subs in self.threads.values())

    def subscribe(self, sub: Subscriber, applicant_id: str) -> None:
        self.threads.setdefault(sub.thread_id, set()).add(sub)
        self.applicants[sub.thread_id] = applicant_id
        self.presence.connected(sub.account_id, sub.role)
        self.refresh(sub.account_id, sub.role, announce=True)

    def unsubscribe(self, sub: Subscriber) -> None:
        subs = self.threads.get(sub.thread_id)
        if subs is None or sub not in subs:
            return
        subs.discard(sub)
        if not subs:
            del self.threads[sub.thread_id]
            self.applicants.pop(sub.thread_id, None)
        self.presence.disconnected(sub.account_id, sub.role)
        self.refresh(sub.account_id, sub.role, announce=True)

    def publish(
        self,
        thread_id: str,
        frame: Frame,
        seq: int = 0,
        exclude: Subscriber | None = None,
        receipt: Receipt | None = None,
    ) -> None:
        subs = self.threads.get(thread_id)
        if not subs:
            return
        text = dumps(frame)
        for sub in subs:
            if sub is not exclude:
                sub.push(seq, text, receipt)

    def typing(self, thread_id: str, frame: Frame, exclude: Subscriber) -> None:
        """A client types: its thread's other sockets here and on every other replica."""
        self.publish(thread_id, frame, exclude=exclude)
        self.bus.send({"k": "typing", "t": thread_id, "f": frame})

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
        self.publish(thread_id, {"type": "read", **receipt}, receipt=receipt)

    def activity(self, account_id: str, role: str) -> None:
        """An HTTP action of ``account_id``: counts as being online for a while."""
        self.presence.touch(account_id, role)
        self.refresh(account_id, role, announce=True)

    # what the other replicas say (services/chat/live.py) ----------------------------------------
    def heard(self, note: Mapping[str, object]) -> None:
        kind = note.get("k")
        if kind == "typing":
            thread_id, frame = note.get("t"), note.get("f")
            if isinstance(thread_id, str) and isinstance(frame, dict):
                self.publish(thread_id, frame)
        elif kind == "seen":
            for account, role, seen, sockets in note.get("a") or ():  # type: ignore[attr-defined]
                self.presence.heard(account, role, float(seen), bool(sockets))
                self.refresh(account, role)

    def _worth_telling(self, account_id: str) -> bool:
        """A socket opened or closed (its count went to or from zero), or the last note about the
        account is a second old: a burst of posts is one note, not one each."""
        now = self.presence.clock()
        state = (now, bool(self.presence.sockets.get(account_id)))
        told = self._told.get(account_id)
        if told is not None and told[1] == state[1] and now - told[0] < TELL_EVERY:
            return False
        if len(self._told) >= 100_000:
            self._told.clear()
        self._told[account_id] = state
        return True

    def _announce(self, accounts: list[str]) -> None:
        seen = [
            [
                a,
                self.presence.roles.get(a, ""),
                self.presence.seen.get(a, 0.0),
                int(self.presence.sockets.get(a, 0) > 0),
            ]
            for a in accounts
        ]
        for part in chunks(seen):
            self.bus.send({"k": "seen", "a": part})

    # presence ---------------------------------------------------------------------------------
    def presence_frame(self, thread_id: str) -> Frame:
        return {"type": "presence", **self.presence.of(self.applicants.get(thread_id, ""))}

    def refresh(self, account_id: str, role: str, *, announce: bool = False) -> None:
        """Broadcast presence where it changed because of ``account_id`` (``announce``: this
        process saw it, so tell the other replicas too)."""
        if announce and self.bus.shared and self._worth_telling(account_id):
            self._announce([account_id])
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
        """Periodic: presence that expired with time; sockets whose session ended (logout); the
        other replicas told who has a socket open here (they count it for a while)."""
        if self.bus.shared and self.presence.sockets:
            self._announce(list(self.presence.sockets))
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
