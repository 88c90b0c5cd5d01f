"""Login throttling: fixed windows of failures per login and per client address, kept in
identity's read store so they survive restarts."""

from __future__ import annotations

import math
import time

from shared.readstore import ReadStore

THROTTLE_DDL = (
    "CREATE TABLE IF NOT EXISTS identity_login_failures (key TEXT PRIMARY KEY,"
    " window_start DOUBLE PRECISION NOT NULL, failures INTEGER NOT NULL)",
)


class LoginThrottle:
    def __init__(self, store: ReadStore, window: int) -> None:
        self.store = store
        self.window = window

    async def setup(self) -> None:
        await self.store.migrate(THROTTLE_DDL)

    async def retry_after(self, limits: dict[str, int]) -> int:
        """Seconds until a login may be tried again under ``limits`` (key → max failures); 0 if now."""
        now = time.time()
        wait = 0.0
        for key, limit in limits.items():
            row = await self.store.fetchrow(
                "SELECT window_start, failures FROM identity_login_failures WHERE key = $1", key
            )
            if row and now - float(row["window_start"]) < self.window and int(row["failures"]) >= limit:
                wait = max(wait, float(row["window_start"]) + self.window - now)
        return math.ceil(wait)

    async def record_failure(self, keys: list[str]) -> None:
        now = time.time()
        async with self.store.transaction() as tx:
            for key in keys:
                row = await tx.fetchrow(
                    "SELECT window_start FROM identity_login_failures WHERE key = $1", key
                )
                if row is None or now - float(row["window_start"]) >= self.window:
                    await tx.execute(
                        "INSERT INTO identity_login_failures (key, window_start, failures) VALUES ($1, $2, 1)"
                        " ON CONFLICT (key) DO UPDATE SET window_start = excluded.window_start, failures = 1",
                        key,
                        now,
                    )
                else:
                    await tx.execute(
                        "UPDATE identity_login_failures SET failures = failures + 1 WHERE key = $1", key
                    )

    async def clear(self, key: str) -> None:
        await self.store.execute("DELETE FROM identity_login_failures WHERE key = $1", key)
