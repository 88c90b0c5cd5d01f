"""Fixed-window counters kept in a service's read store (they survive restarts).

A row per key counts ``hits`` in the current window, plus ``pending`` reservations: attempts
that were let through and whose outcome is not known yet. Every change is one atomic
statement (``INSERT … ON CONFLICT … DO UPDATE … RETURNING``), the same SQL on SQLite and
PostgreSQL, so concurrent requests can never pass a limit together:

- :meth:`FixedWindow.hit` counts an event and says whether it is within the limit;
- :meth:`FixedWindow.reserve` takes one of ``limit`` places *before* the work (hits and
  pending together stay under the limit), and :meth:`FixedWindow.settle` gives the place
  back, counting a hit or not.

A window starts with the first hit after the previous one ended.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass

from shared.readstore import ReadStore, Row

_TABLE = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Count:
    """The state of one key's window after an operation."""

    key: str
    hits: int
    pending: int
    window_start: float
    window: float
    granted: bool = True

    def retry_after(self, now: float | None = None) -> int:
        """Whole seconds until this window ends (at least 1)."""
        now = time.time() if now is None else now
        return max(1, math.ceil(self.window_start + self.window - now))


class FixedWindow:
    """Counters in the table ``table`` (name it after the owning service)."""

    def __init__(self, store: ReadStore, table: str) -> None:
        if not _TABLE.match(table):
            raise ValueError(f"not a table name: {table!r}")
        self.store = store
        self.table = t = table
        self.ddl = (
            f"CREATE TABLE IF NOT EXISTS {t} (key TEXT PRIMARY KEY, window_start DOUBLE PRECISION NOT NULL,"
            " hits INTEGER NOT NULL, pending INTEGER NOT NULL DEFAULT 0)",
        )
        # $1 key, $2 now, $3 now - window (a window that started at or before it is over).
        over = f"{t}.window_start <= $3"
        self._hit = (
            f"INSERT INTO {t} (key, window_start, hits, pending) VALUES ($1, $2, 1, 0)"  # noqa: S608
            f" ON CONFLICT (key) DO UPDATE SET hits = CASE WHEN {over} THEN 1 ELSE {t}.hits + 1 END,"
            f" pending = CASE WHEN {over} THEN 0 ELSE {t}.pending END,"
            f" window_start = CASE WHEN {over} THEN $2 ELSE {t}.window_start END"
            " RETURNING hits, pending, window_start"
        )
        # $4 limit: the row changes (and a row comes back) only when a place is free.
        self._reserve = (
            f"INSERT INTO {t} (key, window_start, hits, pending) VALUES ($1, $2, 0, 1)"  # noqa: S608
            f" ON CONFLICT (key) DO UPDATE SET hits = CASE WHEN {over} THEN 0 ELSE {t}.hits END,"
            f" pending = CASE WHEN {over} THEN 1 ELSE {t}.pending + 1 END,"
            f" window_start = CASE WHEN {over} THEN $2 ELSE {t}.window_start END"
            f" WHERE {over} OR {t}.hits + {t}.pending < $4"
            " RETURNING hits, pending, window_start"
        )

    async def setup(self) -> None:
        await self.store.migrate(self.ddl)

    async def hit(self, key: str, window: float) -> Count:
        """Count one event now; the returned ``hits`` includes it."""
        now = time.time()
        row = await self.store.fetchrow(self._hit, key, now, now - window)
        assert row is not None
        return self._count(key, row, window)

    async def reserve(self, key: str, limit: int, window: float) -> Count:
        """Take a place if ``hits + pending < limit``; ``granted`` says whether it did.
        A refused reservation reports the current window (``hits >= limit``: it is full)."""
        now = time.time()
        row = await self.store.fetchrow(self._reserve, key, now, now - window, limit)
        if row is not None:
            return self._count(key, row, window)
        current = await self.peek(key, window)
        return Count(key, current.hits, current.pending, current.window_start, window, granted=False)

    async def settle(self, reserved: Count, *, hit: bool) -> None:
        """Give back a reserved place, counting a hit or not. A window that ended meanwhile
        is left alone (its places went with it)."""
        await self.store.execute(
            f"UPDATE {self.table} SET pending = CASE WHEN pending > 0 THEN pending - 1 ELSE 0 END,"  # noqa: S608
            " hits = hits + $3 WHERE key = $1 AND window_start = $2",
            reserved.key,
            reserved.window_start,
            1 if hit else 0,
        )

    async def peek(self, key: str, window: float) -> Count:
        """The current window of ``key`` without changing it (zeros when none runs)."""
        now = time.time()
        row = await self.store.fetchrow(
            f"SELECT hits, pending, window_start FROM {self.table} WHERE key = $1",  # noqa: S608
            key,
        )
        if row is None or float(row["window_start"]) <= now - window:
            return Count(key, 0, 0, now, window)
        return self._count(key, row, window)

    async def clear(self, key: str, *, prefix: str | None = None) -> None:
        """Forget the hits of ``key`` (and of every key starting with ``prefix``); places
        reserved meanwhile stay taken until they are settled."""
        sql = f"UPDATE {self.table} SET hits = 0 WHERE key = $1"  # noqa: S608
        if prefix is None:
            await self.store.execute(sql, key)
        else:
            await self.store.execute(sql + " OR substr(key, 1, $3) = $2", key, prefix, len(prefix))

    async def purge(self, older_than: float) -> None:
        """Delete the rows of windows that started more than ``older_than`` seconds ago
        (longer than any window the keys use) and hold no places."""
        await self.store.execute(
            f"DELETE FROM {self.table} WHERE window_start < $1 AND pending = 0",  # noqa: S608
            time.time() - older_than,
        )

    async def forget_pending(self) -> None:
        """At the start of the only process that reserves: places held by a process that
        died can never be settled."""
        await self.store.execute(f"UPDATE {self.table} SET pending = 0 WHERE pending > 0")  # noqa: S608

    @staticmethod
    def _count(key: str, row: Row, window: float) -> Count:
        return Count(key, int(row["hits"]), int(row["pending"]), float(row["window_start"]), window)
