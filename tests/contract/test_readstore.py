"""The read-store contract, one body for SQLiteReadStore and PostgresReadStore."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable

import asyncpg
import pytest

from shared.readstore import ReadStore

DDL = [
    "CREATE TABLE IF NOT EXISTS contract_counts (name TEXT PRIMARY KEY, n BIGINT NOT NULL,"
    " note TEXT, flag BOOLEAN NOT NULL DEFAULT FALSE)",
    "CREATE INDEX IF NOT EXISTS contract_counts_n ON contract_counts (n)",
]


async def count(store: ReadStore, name: str) -> int | None:
    found = await store.fetchval("SELECT n FROM contract_counts WHERE name = $1", name)
    return None if found is None else int(found)


async def test_migrate_twice_is_harmless(store: ReadStore) -> None:
    await store.migrate(DDL)
    await store.execute("INSERT INTO contract_counts (name, n) VALUES ($1, $2)", "a", 1)
    await store.migrate(DDL)
    assert await count(store, "a") == 1


async def test_numbered_placeholders(store: ReadStore) -> None:
    await store.migrate(DDL)
    # Out of order and repeated: $n means the n-th argument, as in PostgreSQL.
    await store.execute("INSERT INTO contract_counts (note, name, n) VALUES ($2, $1, $3)", "b", "заметка", 41)
    row = await store.fetchrow(
        "SELECT name, n, note, flag FROM contract_counts WHERE name = $1 AND (n = $2 OR note = $1)", "b", 41
    )
    assert row == {"name": "b", "n": 41, "note": "заметка", "flag": False}
    assert await store.fetchrow("SELECT name FROM contract_counts WHERE name = $1", "missing") is None
    assert await count(store, "missing") is None
    many = await store.fetch("SELECT name FROM contract_counts WHERE n > $1 ORDER BY name LIMIT $2", 0, 10)
    assert many == [{"name": "b"}]


async def test_on_conflict_upsert(store: ReadStore) -> None:
    await store.migrate(DDL)
    upsert = (
        "INSERT INTO contract_counts (name, n) VALUES ($1, $2)"
        " ON CONFLICT (name) DO UPDATE SET n = contract_counts.n + excluded.n"
    )
    await store.execute(upsert, "c", 5)
    await store.execute(upsert, "c", 7)
    await store.execute(
        "INSERT INTO contract_counts (name, n) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING", "c", 100
    )
    assert await count(store, "c") == 12
    assert await store.fetchval("SELECT COUNT(*) FROM contract_counts") == 1


async def test_transaction_commits_together_or_rolls_back(store: ReadStore) -> None:
    await store.migrate(DDL)
    async with store.transaction() as tx:
        await tx.execute("INSERT INTO contract_counts (name, n) VALUES ($1, $2)", "kept", 1)
        assert await tx.fetchval("SELECT n FROM contract_counts WHERE name = $1", "kept") == 1
    with pytest.raises(RuntimeError, match="boom"):
        async with store.transaction() as tx:
            await tx.execute("INSERT INTO contract_counts (name, n) VALUES ($1, $2)", "lost", 1)
            await tx.execute("UPDATE contract_counts SET n = 99 WHERE name = $1", "kept")
            raise RuntimeError("boom")
    assert await count(store, "lost") is None
    assert await count(store, "kept") == 1
    # The store stays usable after a rollback.
    await store.execute("INSERT INTO contract_counts (name, n) VALUES ($1, $2)", "after", 2)
    assert await count(store, "after") == 2


async def test_failed_statement_rolls_back_the_transaction(store: ReadStore) -> None:
    await store.migrate(DDL)
    await store.execute("INSERT INTO contract_counts (name, n) VALUES ($1, $2)", "dup", 1)
    with pytest.raises((sqlite3.IntegrityError, asyncpg.UniqueViolationError)):
        async with store.transaction() as tx:
            await tx.execute("INSERT INTO contract_counts (name, n) VALUES ($1, $2)", "fresh", 1)
            await tx.execute("INSERT INTO contract_counts (name, n) VALUES ($1, $2)", "dup", 2)
    assert await count(store, "fresh") is None
    assert await count(store, "dup") == 1


async def test_a_locked_name_is_decided_in_turn(store: ReadStore) -> None:
    """Two writers that read and write across streams (a name and the rows it names) lock the
    name: the second reads what the first committed, never the state before it."""
    await store.migrate(DDL)
    await store.execute("INSERT INTO contract_counts (name, n) VALUES ($1, $2)", "shared", 0)
    first_holds = asyncio.Event()
    order: list[str] = []

    async def first() -> None:
        async with store.transaction() as tx:
            await tx.lock(["account:1", "account:2"])
            first_holds.set()
            await asyncio.sleep(0.3)  # the second is waiting meanwhile
            await tx.execute("UPDATE contract_counts SET n = n + 1 WHERE name = $1", "shared")
            order.append("first")

    async def second() -> None:
        await first_holds.wait()
        async with store.transaction() as tx:
            await tx.lock(["account:2"])
            seen = await tx.fetchval("SELECT n FROM contract_counts WHERE name = $1", "shared")
            order.append(f"second saw {seen}")

    await asyncio.gather(first(), second())
    assert order == ["first", "second saw 1"]


async def test_a_guard_that_fails_rolls_back_everything_of_its_transaction(store: ReadStore) -> None:
    """A check inside a transaction (the consumers' generation check): one that raises takes
    everything written before and after it back; one that passes commits."""
    await store.migrate(DDL)
    await store.execute("INSERT INTO contract_counts (name, n) VALUES ($1, $2)", "gen", 7)
    seen: list[object] = []

    def expect(value: object) -> Callable[[object], None]:
        def check(found: object) -> None:
            seen.append(found)
            if found != value:
                raise LookupError(f"{found} != {value}")

        return check

    with pytest.raises(LookupError):
        async with store.transaction() as tx:
            await tx.execute("INSERT INTO contract_counts (name, n) VALUES ($1, $2)", "before", 1)
            await tx.guard("SELECT n FROM contract_counts WHERE name = $1", "gen", check=expect(8))
            await tx.execute("INSERT INTO contract_counts (name, n) VALUES ($1, $2)", "after", 1)
    assert await count(store, "before") is None and await count(store, "after") is None
    async with store.transaction() as tx:
        await tx.guard("SELECT n FROM contract_counts WHERE name = $1", "missing", check=expect(None))
        await tx.guard("SELECT n FROM contract_counts WHERE name = $1", "gen", check=expect(7))
        await tx.execute("INSERT INTO contract_counts (name, n) VALUES ($1, $2)", "kept", 1)
    assert await count(store, "kept") == 1
    assert seen == [7, None, 7]


async def test_a_statement_with_returning_outside_a_transaction_commits(store: ReadStore) -> None:
    await store.migrate(DDL)
    upsert = (
        "INSERT INTO contract_counts (name, n) VALUES ($1, $2)"
        " ON CONFLICT (name) DO UPDATE SET n = contract_counts.n + excluded.n RETURNING n"
    )
    assert await store.fetchval(upsert, "series", 5) == 5
    assert await store.fetchval(upsert, "series", 3) == 8
    assert await count(store, "series") == 8
    with pytest.raises((sqlite3.IntegrityError, asyncpg.NotNullViolationError)):
        await store.fetchval("INSERT INTO contract_counts (name, n) VALUES ($1, NULL) RETURNING n", "bad")
    assert await count(store, "bad") is None
    await store.execute("INSERT INTO contract_counts (name, n) VALUES ($1, $2)", "usable", 1)  # still usable
    assert await count(store, "usable") == 1


async def test_an_attempt_that_fails_spoils_nothing_else(store: ReadStore) -> None:
    await store.migrate(DDL)
    async with store.transaction() as tx:
        await tx.execute("INSERT INTO contract_counts (name, n) VALUES ($1, $2)", "kept", 1)
        failed = await tx.attempt("INSERT INTO contract_counts (name, n) VALUES ('kept', 2)")
        assert failed is not None  # the duplicate, inside its savepoint
        assert await tx.attempt("UPDATE contract_counts SET n = 5 WHERE name = 'kept'") is None
    assert await count(store, "kept") == 5


async def test_a_lookup_reads_the_committed_rows_only(store: ReadStore) -> None:
    """A point read (``lookup``) sees what is committed, never a transaction under way."""
    await store.migrate(DDL)
    await store.execute("INSERT INTO contract_counts (name, n) VALUES ($1, $2)", "seen", 1)
    async with store.transaction() as tx:
        await tx.execute("INSERT INTO contract_counts (name, n) VALUES ($1, $2)", "pending", 2)
        assert await tx.fetchval("SELECT n FROM contract_counts WHERE name = $1", "pending") == 2
        outside = await store.lookup(
            "SELECT name, n FROM contract_counts WHERE name IN ($1, $2)", "seen", "pending"
        )
        assert outside == [{"name": "seen", "n": 1}]
    assert await store.lookup("SELECT n FROM contract_counts WHERE name = $1", "pending") == [{"n": 2}]
