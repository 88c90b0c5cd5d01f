"""Presence: «сотрудник в сети» / «был(а) в сети» for a thread's page.

An account is online while it has a chat socket open or acted (posted, read) in the last
minute; its last such moment is kept in ``chat_presence`` (flushed every few seconds by the
hub and at shutdown). Staff presence is any staff member's.

With several replicas each counts the sockets it holds, and hears from the others (the live
bus, services/chat/live.py) when an account was seen there and whether it has a socket open
there: such a socket counts for :data:`REMOTE_TTL` seconds, renewed by the replica's heartbeat.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TypedDict

import structlog

from services.chat.domain import STAFF
from shared.readstore import ReadStore

log = structlog.get_logger(__name__)

ONLINE_WINDOW = 60.0  # an HTTP action counts as «в сети» for this long
REMOTE_TTL = 15.0  # a socket another replica holds counts this long after it last said so

PRESENCE_DDL = (
    "CREATE TABLE IF NOT EXISTS chat_presence (account_id TEXT PRIMARY KEY, role TEXT NOT NULL,"
    " last_seen DOUBLE PRECISION NOT NULL)",
)


class PresenceOut(TypedDict):
    staff_online: bool
    staff_last_seen: str | None
    applicant_online: bool
    applicant_last_seen: str | None


def iso(moment: float | None) -> str | None:
    return datetime.fromtimestamp(moment, UTC).isoformat() if moment else None


class Presence:
    """Who has a chat socket open, and when each account was last seen (kept in the read store)."""

    def __init__(self, store: ReadStore | None = None, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock
        self.sockets: dict[str, int] = {}
        self.roles: dict[str, str] = {}
        self.seen: dict[str, float] = {}
        self.remote: dict[str, float] = {}  # account → until when another replica's socket counts
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
                    " last_seen = CASE WHEN excluded.last_seen > chat_presence.last_seen"
                    " THEN excluded.last_seen ELSE chat_presence.last_seen END",
                    account,
                    self.roles[account],
                    self.seen[account],
                )

    async def close(self) -> None:
        """The last flush, at shutdown."""
        try:
            await self.flush()
        except Exception:  # noqa: BLE001 - best effort: a cancelled worker may have left the store mid-transaction
            log.warning("chat.presence_not_flushed")

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

    def heard(self, account: str, role: str, seen: float, sockets: bool) -> None:
        """Another replica saw ``account`` at ``seen``, and holds a socket of it or not (that
        replica keeps the moment in the store)."""
        if role:
            self.roles[account] = role
        if seen > self.seen.get(account, 0.0):
            self.seen[account] = seen
        if sockets:
            self.remote[account] = self.clock() + REMOTE_TTL
        else:
            self.remote.pop(account, None)

    def online(self, account: str) -> bool:
        if self.sockets.get(account):
            return True
        until = self.remote.get(account)
        if until is not None:
            if until > self.clock():
                return True
            del self.remote[account]
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

    def of(self, applicant_id: str) -> PresenceOut:
        """What a thread's page shows: is a staff member online, is the applicant, and since when."""
        return {
            "staff_online": self.staff_online(),
            "staff_last_seen": iso(self.staff_last_seen()),
            "applicant_online": self.online(applicant_id),
            "applicant_last_seen": iso(self.last_seen(applicant_id)),
        }
