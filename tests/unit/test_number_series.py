"""Application numbers (services/applications/numbers.py) on the embedded default: the counter
in a SQLite file of its own, what the read store kept before merged in, no number twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from services.applications.numbers import NUMBERS_DDL, NumberSeries
from shared.readstore import SQLiteReadStore


def number(value: int) -> str:
    return f"ТП-{datetime.now(UTC).year}-{value:06d}"


async def test_the_counter_moves_to_its_own_store_and_never_goes_back(tmp_path: Path) -> None:
    read = SQLiteReadStore(tmp_path / "read.sqlite")
    await read.open()
    try:
        await read.migrate(NUMBERS_DDL)  # the counter as an earlier version kept it
        year = datetime.now(UTC).year
        await read.execute("INSERT INTO applications_counters (year, last) VALUES ($1, $2)", year, 41)

        series = NumberSeries(read, SQLiteReadStore(tmp_path / "numbers.sqlite"))
        await series.setup()
        try:
            assert await series.next() == number(42)
            taken = await asyncio.gather(*(series.next() for _ in range(20)))
        finally:
            await series.close()
        assert sorted(taken) == [number(n) for n in range(43, 63)]  # together, each once
        assert await read.fetchval("SELECT last FROM applications_counters") == 41  # untouched

        again = NumberSeries(read, SQLiteReadStore(tmp_path / "numbers.sqlite"))
        await again.setup()  # the old row merged again: the larger value stands
        try:
            assert await again.next() == number(63)
        finally:
            await again.close()
    finally:
        await read.close()
