"""The SQLite read store's writing side (shared/readstore.py ``_Writer``): transactions run on
the event loop, a file locked by another process is waited for off the loop, and the WAL is
checkpointed by the store's thread."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from shared import readstore
from shared.readstore import SQLiteReadStore

DDL = ["CREATE TABLE IF NOT EXISTS writer_rows (name TEXT PRIMARY KEY, n BIGINT NOT NULL)"]


async def test_a_file_locked_by_another_process_is_waited_for_without_holding_the_loop(
    tmp_path: Path,
) -> None:
    store = SQLiteReadStore(tmp_path / "read.sqlite")
    await store.open()
    try:
        await store.migrate(DDL)
        other = sqlite3.connect(tmp_path / "read.sqlite", isolation_level=None)  # another process's
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO writer_rows (name, n) VALUES ('theirs', 1)")
        # Released by the loop itself: were the loop waiting for the lock, it never would be.
        asyncio.get_running_loop().call_later(0.3, lambda: other.execute("COMMIT"))
        async with store.transaction() as tx:
            await tx.execute("INSERT INTO writer_rows (name, n) VALUES ($1, $2)", "mine", 2)
            assert await tx.fetchval("SELECT n FROM writer_rows WHERE name = $1", "theirs") == 1
        other.close()
        rows = await store.fetch("SELECT name, n FROM writer_rows ORDER BY name")
        assert rows == [{"name": "mine", "n": 2}, {"name": "theirs", "n": 1}]
        await store.execute(
            "INSERT INTO writer_rows (name, n) VALUES ($1, $2)", "after", 3
        )  # on the loop again
        assert await store.fetchval("SELECT n FROM writer_rows WHERE name = $1", "after") == 3
    finally:
        await store.close()


async def test_the_wal_is_checkpointed_by_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readstore, "CHECKPOINT_EVERY", 5)
    path = tmp_path / "read.sqlite"
    store = SQLiteReadStore(path)
    await store.open()

    def in_the_file_itself() -> int:
        """Rows in the database file, not counting what only the WAL holds yet."""
        conn = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
        try:
            found = conn.execute("SELECT name FROM sqlite_master WHERE name = 'writer_rows'").fetchone()
            return int(conn.execute("SELECT COUNT(*) FROM writer_rows").fetchone()[0]) if found else 0
        finally:
            conn.close()

    try:
        await store.migrate(DDL)  # commit 1
        for n in range(3):  # commits 2–4: in the WAL only (the loop's connection never checkpoints)
            await store.execute("INSERT INTO writer_rows (name, n) VALUES ($1, $2)", f"r{n}", n)
        assert in_the_file_itself() == 0
        await store.execute("INSERT INTO writer_rows (name, n) VALUES ($1, $2)", "r3", 3)  # commit 5
        for _ in range(100):
            if in_the_file_itself() == 4:
                break
            await asyncio.sleep(0.02)
        assert in_the_file_itself() == 4
    finally:
        await store.close()
