"""Human-readable application numbers: ТП-<year>-<six digits>, unique, from a counter row
per year in the read store. A crash between taking a number and saving the application
leaves a gap in the series, never a duplicate.

Submissions arriving together share one counter transaction: whoever finds the series free
takes a number for every caller waiting at that moment (``last + k``), so under load the
counter row costs one transaction per burst, not one per submission, and the numbers still
follow the order in which callers asked."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from shared.readstore import ReadStore

NUMBERS_DDL = (
    "CREATE TABLE IF NOT EXISTS applications_counters (year INTEGER PRIMARY KEY, last BIGINT NOT NULL)",
)


class NumberSeries:
    def __init__(self, store: ReadStore) -> None:
        self.store = store
        self._waiting: list[asyncio.Future[str]] = []
        self._lock = asyncio.Lock()

    async def setup(self) -> None:
        await self.store.migrate(NUMBERS_DDL)

    async def next(self) -> str:
        mine: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._waiting.append(mine)
        async with self._lock:
            if not mine.done():  # nobody took one for us while we waited: take for everyone
                batch, self._waiting = self._waiting, []
                try:
                    numbers = await self._take(len(batch))
                except BaseException:
                    # Nothing was handed out: the others take theirs in the next round.
                    self._waiting[:0] = [f for f in batch if f is not mine and not f.done()]
                    raise
                for future, number in zip(batch, numbers, strict=True):
                    if not future.done():  # a caller gone meanwhile leaves a gap, as a crash would
                        future.set_result(number)
        return mine.result()

    async def block(self, count: int) -> list[str]:
        """``count`` numbers at once, in one transaction (``lk ops seed``)."""
        return await self._take(count) if count > 0 else []

    async def _take(self, count: int) -> list[str]:
        year = datetime.now(UTC).year
        async with self.store.transaction() as tx:
            last = int(
                await tx.fetchval(
                    "INSERT INTO applications_counters (year, last) VALUES ($1, $2) ON CONFLICT (year)"
                    " DO UPDATE SET last = applications_counters.last + $2 RETURNING last",
                    year,
                    count,
                )
            )
        return [f"ТП-{year}-{value:06d}" for value in range(last - count + 1, last + 1)]
