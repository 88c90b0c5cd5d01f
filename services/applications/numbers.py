"""Human-readable application numbers: ТП-<year>-<six digits>, unique, from a counter row
per year in the read store. A crash between taking a number and saving the application
leaves a gap in the series, never a duplicate.

Submissions arriving together share one counter transaction: whoever finds the series free
takes a number for every caller waiting at that moment (``last + k``), so under load the
counter row costs one transaction per burst, not one per submission, and the numbers still
follow the order in which callers asked.

On the embedded default the counter has a SQLite file of its own (``numbers.sqlite`` beside the
service's read store): a number is then never queued behind the consumers' batches, which
take the read store's one writer in turn. The rows it kept in the read store before are
merged in at start (the larger value wins, so the series never goes back)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from shared.readstore import ReadStore, SQLiteReadStore
from shared.settings import Settings

NUMBERS_DDL = (
    "CREATE TABLE IF NOT EXISTS applications_counters (year INTEGER PRIMARY KEY, last BIGINT NOT NULL)",
)


def counter_store(settings: Settings) -> ReadStore | None:
    """The counter's own store on the embedded default; None: it lives in the read store
    (PostgreSQL, where writers do not queue behind each other in the process)."""
    return (
        SQLiteReadStore(settings.service_dir("applications") / "numbers.sqlite")
        if settings.embedded
        else None
    )


class NumberSeries:
    def __init__(self, store: ReadStore, counter: ReadStore | None = None) -> None:
        """``store``: the service's read store; ``counter``: a store of the counter's own
        (opened and closed by the series), if it has one."""
        self.store = counter or store
        self._before = store if counter is not None else None  # where the counter was kept before
        self._waiting: list[asyncio.Future[str]] = []
        self._lock = asyncio.Lock()

    async def setup(self) -> None:
        if self._before is not None:
            await self.store.open()
        await self.store.migrate(NUMBERS_DDL)
        if self._before is not None:
            await self._before.migrate(NUMBERS_DDL)
            rows = await self._before.fetch("SELECT year, last FROM applications_counters")
            async with self.store.transaction() as tx:
                await tx.executemany(
                    "INSERT INTO applications_counters (year, last) VALUES ($1, $2) ON CONFLICT (year)"
                    " DO UPDATE SET last = MAX(applications_counters.last, excluded.last)",
                    [(r["year"], r["last"]) for r in rows],
                )

    async def close(self) -> None:
        if self._before is not None:
            await self.store.close()

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
        # One statement, a transaction of its own (on SQLite one hand-off to the store's thread).
        last = int(
            await self.store.fetchval(
                "INSERT INTO applications_counters (year, last) VALUES ($1, $2) ON CONFLICT (year)"
                " DO UPDATE SET last = applications_counters.last + $2 RETURNING last",
                year,
                count,
            )
        )
        return [f"ТП-{year}-{value:06d}" for value in range(last - count + 1, last + 1)]
