"""Read-model storage port: the same SQL on SQLite (embedded) and PostgreSQL (real stack).

SQL is written with ``$1``-style placeholders, which SQLite reads as ``?1``. Only
portable SQL is used (``INSERT … ON CONFLICT``, standard types). Every table a
service owns is prefixed with the service name.
"""

from __future__ import annotations

import asyncio
import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite
import asyncpg

from shared.settings import Settings

Row = dict[str, Any]
_PLACEHOLDER = re.compile(r"\$(\d+)")


class Tx(ABC):
    """One open transaction."""

    @abstractmethod
    async def execute(self, sql: str, *args: Any) -> None: ...

    @abstractmethod
    async def fetch(self, sql: str, *args: Any) -> list[Row]: ...

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """One statement for many rows, in one round trip where the driver can."""
        for row in rows:
            await self.execute(sql, *row)

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        rows = await self.fetch(sql, *args)
        return rows[0] if rows else None

    async def fetchval(self, sql: str, *args: Any) -> Any:
        row = await self.fetchrow(sql, *args)
        return next(iter(row.values())) if row else None


class ReadStore(ABC):
    """A database for read models, positions and small ledgers."""

    @abstractmethod
    async def open(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Tx]:
        """``async with store.transaction() as tx:`` commits on success."""

    async def migrate(self, ddl: Sequence[str]) -> None:
        """Run idempotent ``CREATE … IF NOT EXISTS`` statements."""
        async with self.transaction() as tx:
            for statement in ddl:
                await tx.execute(statement)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        async with self.transaction() as tx:
            return await tx.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        async with self.transaction() as tx:
            return await tx.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        async with self.transaction() as tx:
            return await tx.fetchval(sql, *args)

    async def execute(self, sql: str, *args: Any) -> None:
        async with self.transaction() as tx:
            await tx.execute(sql, *args)

    async def ping(self) -> None:
        """Raises unless the database answers (for readiness)."""
        await self.fetchval("SELECT 1")


class _SQLiteTx(Tx):
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, *args: Any) -> None:
        await self._conn.execute(_PLACEHOLDER.sub(r"?\1", sql), args)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            await self._conn.executemany(_PLACEHOLDER.sub(r"?\1", sql), rows)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        async with self._conn.execute(_PLACEHOLDER.sub(r"?\1", sql), args) as cur:
            names = [d[0] for d in cur.description or ()]
            return [dict(zip(names, row, strict=True)) for row in await cur.fetchall()]


class SQLiteReadStore(ReadStore):
    """One SQLite file (WAL); transactions in this process are serialised by a lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = await aiosqlite.connect(self.path, isolation_level=None, timeout=30)
        await self._conn.execute("PRAGMA journal_mode=WAL")
        await self._conn.execute("PRAGMA synchronous=NORMAL")

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        assert self._conn is not None, "store is not open"
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield _SQLiteTx(self._conn)
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            await self._conn.execute("COMMIT")


class _PgTx(Tx):
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, *args: Any) -> None:
        await self._conn.execute(sql, *args)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            await self._conn.executemany(sql, rows)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return [dict(r) for r in await self._conn.fetch(sql, *args)]


class PostgresReadStore(ReadStore):
    """An asyncpg pool on the stack's PostgreSQL database."""

    def __init__(self, dsn: str, max_size: int = 5, timeout: float = 5.0) -> None:
        self.dsn = dsn
        self.max_size = max_size
        self.timeout = timeout
        self._pool: asyncpg.Pool | None = None

    async def open(self) -> None:
        self._pool = await asyncpg.create_pool(
            self.dsn, min_size=1, max_size=self.max_size, timeout=self.timeout, command_timeout=self.timeout
        )

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        assert self._pool is not None, "store is not open"
        async with self._pool.acquire(timeout=self.timeout) as conn, conn.transaction():
            yield _PgTx(conn)

    async def migrate(self, ddl: Sequence[str]) -> None:
        # Concurrent processes may create the same tables at once; serialise them.
        async with self.transaction() as tx:
            await tx.execute("SELECT pg_advisory_xact_lock(4242)")
            for statement in ddl:
                await tx.execute(statement)


def build_readstore(settings: Settings, service: str) -> ReadStore:
    """The read store of ``service`` for the configured mode."""
    if settings.embedded:
        return SQLiteReadStore(settings.service_dir(service) / "read.sqlite")
    return PostgresReadStore(settings.postgres_dsn, timeout=settings.db_timeout)
