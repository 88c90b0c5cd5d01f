"""In-process live fan-out of a thread's messages, typing and read receipts to its open
sockets, and presence («сотрудник в сети» / last seen).

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
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import structlog

from services.chat.domain import CONSUMER, STAFF
from shared.readstore import ReadStore

log = structlog.get_logger(__name__)

ONLINE_WINDOW = 60.0  # an HTTP action counts as «в сети» for this long

PRESENCE_DDL = (
    "CREATE TABLE IF NOT EXISTS chat_presence (account_id TEXT PRIMARY KEY, role TEXT NOT NULL,"
    " last_seen DOUBLE PRECISION NOT NULL)",
)


def dumps(frame: dict[str, Any]) -> str:
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


def iso(moment: float | None) -> str | None:
    return datetime.fromtimestamp(moment, UTC).isoformat() if moment else None


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


class Presence:
    """Who has a chat socket open, and when each account was last seen (kept in the read store)."""

    def __init__(self, store: ReadStore | None = None, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock
        self.sockets: dict[str, int] = {}
        self.roles: dict[str, str] = {}
        self.seen: dict[str, float] = {}
        self._dirty: set[str] = set()

    async def load(self) -> None:
        if self.store is None:
            return
        await self.store.migrate(PRESENCE_DDL)
        for row in await self.store.fetch("SELECT account_id, role, last_seen FROM chat_presence"):
            self.roles[row["account_id"]] = row["role"]
            self.seen[row["account_id"]] = float(row["last_seen"])

    async def flush(self) -> None:
        """Persist the last-seen times that changed (a crash loses at most one interval)."""
        if self.store is None or not self._dirty:
            return
        dirty, self._dirty = self._dirty, set()
        async with self.store.transaction() as tx:
            for account in dirty:
                await tx.execute(
                    "INSERT INTO chat_presence (account_id, role, last_seen) VALUES ($1, $2, $3)"
                    " ON CONFLICT (account_id) DO UPDATE SET role = excluded.role,"
                    " last_seen = excluded.last_seen",
                    account,
                    self.roles[account],
                    self.seen[account],
                )

    def touch(self, account: str, role: str) -> None:
        self.roles[account] = role
        self.seen[account] = self.clock()
        self._dirty.add(account)

    def connected(self, account: str, role: str) -> None:
        self.sockets[account] = self.sockets.get(account, 0) + 1
        self.touch(account, role)

    def disconnected(self, account: str, role: str) -> None:
        left = self.sockets.get(account, 0) - 1
        if left > 0:
            self.sockets[account] = left
        else:
            self.sockets.pop(account, None)
        self.touch(account, role)

    def online(self, account: str) -> bool:
        if self.sockets.get(account):
            return True
        seen = self.seen.get(account)
        return seen is not None and self.clock() - seen < ONLINE_WINDOW

    def last_seen(self, account: str) -> float | None:
        return self.clock() if self.online(account) else self.seen.get(account)

    def staff(self) -> Iterable[str]:
        return (a for a, role in self.roles.items() if role == STAFF)

    def staff_online(self) -> bool:
        return any(self.online(a) for a in self.staff())

    def staff_last_seen(self) -> float | None:
        return max((t for a in self.staff() if (t := self.last_seen(a)) is not None), default=None)

    def of(self, applicant_id: str) -> dict[str, Any]:
        """What a thread's page shows: is a staff member online, is the applicant, and since when."""
        return {
            "staff_online": self.staff_online(),
            "staff_last_seen": iso(self.staff_last_seen()),
            "applicant_online": self.online(applicant_id),
            "applicant_last_seen": iso(self.last_seen(applicant_id)),
        }


class Hub:
    """Threads → open sockets; publishes frames and presence changes."""

    def __init__(self, presence: Presence) -> None:
        self.presence = presence
        self.threads: dict[str, set[Subscriber]] = {}
        self.applicants: dict[str, str] = {}  # thread → applicant, for threads with sockets
        self._staff_online = False
        self._online: dict[str, bool] = {}  # applicant → last broadcast state

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
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self.threads[sub.thread_id]
                self.applicants.pop(sub.thread_id, None)
        self.presence.disconnected(sub.account_id, sub.role)
        self.refresh(sub.account_id, sub.role)

    def publish(
        self, thread_id: str, frame: dict[str, Any], seq: int = 0, exclude: Subscriber | None = None
    ) -> None:
        subs = self.threads.get(thread_id)
        if not subs:
            return
        text = dumps(frame)
        for sub in subs:
            if sub is not exclude:
                sub.push(seq, text)

    # called by the commands (via call_soon_threadsafe) ------------------------------------------
    def message(self, thread_id: str, message: dict[str, Any]) -> None:
        self.publish(thread_id, {"type": "message", "message": message}, seq=int(message["seq"]))

    def read(self, thread_id: str, receipt: dict[str, Any]) -> None:
        self.publish(thread_id, {"type": "read", **receipt})

    def activity(self, account_id: str, role: str) -> None:
        """An HTTP action of ``account_id``: counts as being online for a while."""
        self.presence.touch(account_id, role)
        self.refresh(account_id, role)

    # presence ---------------------------------------------------------------------------------
    def presence_frame(self, thread_id: str) -> dict[str, Any]:
        return {"type": "presence", **self.presence.of(self.applicants.get(thread_id, ""))}

    def refresh(self, account_id: str, role: str) -> None:
        """Broadcast presence where it changed because of ``account_id``."""
        if role == STAFF:
            now = self.presence.staff_online()
            if now != self._staff_online:
                self._staff_online = now
                for thread_id in list(self.threads):
                    self.publish(thread_id, self.presence_frame(thread_id))
        elif role == CONSUMER:
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
        staff_now = self.presence.staff_online()
        if staff_now != self._staff_online:
            self._staff_online = staff_now
            for thread_id in list(self.threads):
                self.publish(thread_id, self.presence_frame(thread_id))
        for applicant in list(self._online):
            self.refresh(applicant, CONSUMER)
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
