"""shared/ratelimit.py: fixed-window counters, one body on SQLite and on PostgreSQL (the
atomic upserts are what keeps concurrent requests from passing a limit together)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from shared.ratelimit import FixedWindow
from shared.readstore import PostgresReadStore, ReadStore, SQLiteReadStore

POSTGRES = os.environ.get("LK_POSTGRES_DSN", "postgresql://lk:lk@127.0.0.1:5432/lk")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.servers)])
async def limiter(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[FixedWindow]:
    store: ReadStore
    name = f"lk_unit_{uuid.uuid4().hex[:12]}"
    if request.param == "sqlite":
        store = SQLiteReadStore(tmp_path / "read.sqlite")
    else:
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        store = PostgresReadStore(urlunsplit(urlsplit(POSTGRES)._replace(path=f"/{name}")), max_size=10)
    await store.open()
    counters = FixedWindow(store, "unit_rate_limits")
    await counters.setup()
    try:
        yield counters
    finally:
        await store.close()
        if request.param == "postgres":
            with psycopg.connect(POSTGRES, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_hits_count_per_key_within_a_window(limiter: FixedWindow) -> None:
    assert [(await limiter.hit("a", 900)).hits for _ in range(3)] == [1, 2, 3]
    assert (await limiter.hit("b", 900)).hits == 1
    seen = await limiter.peek("a", 900)
    assert seen.hits == 3 and 890 < seen.retry_after() <= 900
    assert (await limiter.peek("nobody", 900)).hits == 0


async def test_a_new_window_counts_from_one(limiter: FixedWindow) -> None:
    await limiter.hit("a", 1)
    await limiter.hit("a", 1)
    await asyncio.sleep(1.05)
    assert (await limiter.peek("a", 1)).hits == 0
    assert (await limiter.hit("a", 1)).hits == 1


async def test_concurrent_reservations_never_pass_the_limit(limiter: FixedWindow) -> None:
    tried = await asyncio.gather(*(limiter.reserve("k", 5, 900) for _ in range(20)))
    granted = [c for c in tried if c.granted]
    assert len(granted) == 5
    assert {c.pending for c in granted} == {1, 2, 3, 4, 5}
    refused = [c for c in tried if not c.granted]
    assert all(c.hits + c.pending >= 5 for c in refused)
    # Settling: two failures count, three successes give their places back.
    for reserved in granted[:2]:
        await limiter.settle(reserved, hit=True)
    for reserved in granted[2:]:
        await limiter.settle(reserved, hit=False)
    state = await limiter.peek("k", 900)
    assert (state.hits, state.pending) == (2, 0)
    assert (
        sum(c.granted for c in await asyncio.gather(*(limiter.reserve("k", 5, 900) for _ in range(9)))) == 3
    )


async def test_concurrent_hits_are_each_counted(limiter: FixedWindow) -> None:
    counts = await asyncio.gather(*(limiter.hit("k", 900) for _ in range(25)))
    assert sorted(c.hits for c in counts) == list(range(1, 26))


async def test_clear_by_key_and_prefix(limiter: FixedWindow) -> None:
    for key in ("user:ivan", "pair:ivan|192.0.2.1", "pair:ivan|192.0.2.2", "pair:ivanov|192.0.2.1"):
        await limiter.hit(key, 900)
    held = await limiter.reserve("pair:ivan|192.0.2.1", 5, 900)
    await limiter.clear("user:ivan", prefix="pair:ivan|")
    assert [(await limiter.peek(k, 900)).hits for k in ("user:ivan", "pair:ivan|192.0.2.2")] == [0, 0]
    assert (await limiter.peek("pair:ivanov|192.0.2.1", 900)).hits == 1  # another login
    assert (await limiter.peek("pair:ivan|192.0.2.1", 900)).pending == 1  # still held
    await limiter.settle(held, hit=True)
    assert (await limiter.peek("pair:ivan|192.0.2.1", 900)).hits == 1
    await limiter.forget_pending()


async def test_a_crashed_holder_frees_its_places_at_the_next_start(limiter: FixedWindow) -> None:
    for _ in range(3):
        assert (await limiter.reserve("k", 3, 900)).granted
    assert not (await limiter.reserve("k", 3, 900)).granted
    await limiter.forget_pending()
    assert (await limiter.reserve("k", 3, 900)).granted


def test_table_names_are_checked() -> None:
    with pytest.raises(ValueError, match="table"):
        FixedWindow(SQLiteReadStore(Path("unused.sqlite")), "x; DROP TABLE y")


async def test_purge_drops_only_long_finished_windows(limiter: FixedWindow) -> None:
    await limiter.hit("old", 1)
    held = await limiter.reserve("old-but-held", 5, 1)
    await asyncio.sleep(1.1)
    await limiter.hit("new", 900)
    await limiter.purge(older_than=1)
    rows = await limiter.store.fetch("SELECT key FROM unit_rate_limits ORDER BY key")
    assert [r["key"] for r in rows] == ["new", "old-but-held"]
    await limiter.settle(held, hit=False)
