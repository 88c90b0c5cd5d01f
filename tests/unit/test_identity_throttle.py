"""services/identity/throttle.py: login failures counted per key in fixed windows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.identity.throttle import LoginThrottle
from shared.readstore import SQLiteReadStore


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteReadStore]:
    store = SQLiteReadStore(tmp_path / "identity.sqlite")
    await store.open()
    yield store
    await store.close()


async def test_blocks_after_the_limit_per_key(store: SQLiteReadStore) -> None:
    throttle = LoginThrottle(store, window=900)
    await throttle.setup()
    limits = {"login:ivan": 3, "ip:192.0.2.1": 5}
    for _ in range(2):
        await throttle.record_failure(list(limits))
    assert await throttle.retry_after(limits) == 0
    await throttle.record_failure(list(limits))
    assert 890 < await throttle.retry_after(limits) <= 900
    assert await throttle.retry_after({"login:petr": 3, "ip:192.0.2.1": 5}) == 0  # the address: 3 of 5
    await throttle.clear("login:ivan")
    assert await throttle.retry_after(limits) == 0


async def test_a_new_window_starts_counting_again(store: SQLiteReadStore) -> None:
    throttle = LoginThrottle(store, window=1)
    await throttle.setup()
    await throttle.record_failure(["login:ivan"])
    assert await throttle.retry_after({"login:ivan": 1}) == 1
    await asyncio.sleep(1.05)
    assert await throttle.retry_after({"login:ivan": 1}) == 0
    await throttle.record_failure(["login:ivan"])  # first failure of the new window
    assert await throttle.retry_after({"login:ivan": 2}) == 0
    assert await throttle.retry_after({"login:ivan": 1}) == 1


async def test_counts_survive_a_restart(store: SQLiteReadStore) -> None:
    await LoginThrottle(store, window=900).setup()
    await LoginThrottle(store, window=900).record_failure(["login:ivan"])
    again = LoginThrottle(store, window=900)
    await again.setup()  # migrating again keeps the rows
    assert await again.retry_after({"login:ivan": 1}) > 0
