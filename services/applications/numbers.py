"""Human-readable application numbers: ТП-<year>-<six digits>, unique, from a counter row
per year in the read store. A crash between taking a number and saving the application
leaves a gap in the series, never a duplicate."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.readstore import ReadStore

NUMBERS_DDL = (
    "CREATE TABLE IF NOT EXISTS applications_counters (year INTEGER PRIMARY KEY, last BIGINT NOT NULL)",
)


class NumberSeries:
    def __init__(self, store: ReadStore) -> None:
        self.store = store

    async def setup(self) -> None:
        await self.store.migrate(NUMBERS_DDL)

    async def next(self) -> str:
        year = datetime.now(UTC).year
        async with self.store.transaction() as tx:
            value = await tx.fetchval(
                "INSERT INTO applications_counters (year, last) VALUES ($1, 1) ON CONFLICT (year)"
                " DO UPDATE SET last = applications_counters.last + 1 RETURNING last",
                year,
            )
        return f"ТП-{year}-{int(value):06d}"
