"""Read-model storage port: the same SQL on SQLite (embedded) and PostgreSQL (real stack).

SQL is written with ``$1``-style placeholders, which SQLite reads as ``?1``. Only
portable SQL is used (``INSERT … ON CONFLICT``, standard types). Every table a
service owns is prefixed with the service name.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import re
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite
import asyncpg
import structlog

from shared import schemas
from shared.settings import Settings

log = structlog.get_logger(__name__)

Row = dict[str, Any]
_PLACEHOLDER = re.compile(r"\$(\d+)")


@functools.lru_cache(maxsize=4096)
def _sqlite(sql: str) -> str:
    """``$n`` as SQLite's ``?n`` (remembered: the same statements come again and again)."""
    return _PLACEHOLDER.sub(r"?\1", sql)


class Tx(ABC):
    """One open transaction."""

    postgres = False  # the dialect: what only PostgreSQL has (an extension's index) asks this

    async def attempt(self, sql: str) -> Exception | None:
        """Run ``sql``, which may fail (an extension the server cannot create), without spoiling
        the transaction: inside a savepoint, rolled back to on failure. Returns the error."""
        await self.execute("SAVEPOINT lk_attempt")
        try:
            await self.execute(sql)
        except Exception as exc:  # noqa: BLE001 - the caller decides what the failure means
            await self.execute("ROLLBACK TO SAVEPOINT lk_attempt")
            await self.execute("RELEASE SAVEPOINT lk_attempt")
            return exc
        await self.execute("RELEASE SAVEPOINT lk_attempt")
        return None

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

    async def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Plain inserts of many rows (no conflict handling): PostgreSQL copies them (``COPY``,
        several times faster than ``INSERT`` for thousands of rows)."""
        marks = ", ".join(f"${n}" for n in range(1, len(columns) + 1))
        await self.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)  # noqa: S608

    async def lock(self, names: Iterable[str]) -> None:  # noqa: B027 - SQLite: one writer at a time
        """Hold ``names`` until the transaction ends, against other transactions that lock
        them: what two writers (replicas applying different partitions) read and write across
        streams — the name of an account on the applications of it — is then decided in turn.
        SQLite's transactions on a store already run one at a time: nothing to lock."""

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
        rows = await self.fetch(sql, *args)
        return rows[0] if rows else None

    async def fetchval(self, sql: str, *args: Any) -> Any:
        row = await self.fetchrow(sql, *args)
        return next(iter(row.values())) if row else None

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
        await self._conn.execute(_sqlite(sql), args)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            await self._conn.executemany(_sqlite(sql), rows)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return await _fetch_rows(self._conn, sql, args)


async def _fetch_rows(conn: aiosqlite.Connection, sql: str, args: Sequence[Any]) -> list[Row]:
    """One trip to the connection's thread (execute and fetch together), rows as dicts
    (the connection's ``row_factory`` is ``sqlite3.Row``)."""
    rows = await conn.execute_fetchall(_sqlite(sql), args)
    return [dict(zip(row.keys(), row, strict=True)) for row in rows]


class SQLiteReadStore(ReadStore):
    """One SQLite file (WAL); transactions in this process are serialised by a lock. A query
    outside a transaction (``fetch``, ``fetchrow``, ``fetchval`` of a ``SELECT``) goes to a
    second, reading connection instead: WAL lets it read the last committed state while a
    transaction writes, so the API's reads neither wait for the consumers' batches nor take
    the writers' lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = await aiosqlite.connect(self.path, isolation_level=None, timeout=30)
        await self._conn.execute("PRAGMA journal_mode=WAL")
        await self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.row_factory = sqlite3.Row
        self._reader = await aiosqlite.connect(self.path, isolation_level=None, timeout=30)
        self._reader.row_factory = sqlite3.Row

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        if self._reader is None or sql.lstrip()[:6].upper() != "SELECT":
            return await super().fetch(sql, *args)
        return await _fetch_rows(self._reader, sql, args)

    async def close(self) -> None:
        if self._reader is not None:
            await self._reader.close()
            self._reader = None
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
    postgres = True

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, *args: Any) -> None:
        await self._conn.execute(sql, *args)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            await self._conn.executemany(sql, rows)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return [dict(r) for r in await self._conn.fetch(sql, *args)]

    async def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if rows:  # into the table the search path finds, as any statement's
            await self._conn.copy_records_to_table(table, records=rows, columns=list(columns))

    async def lock(self, names: Iterable[str]) -> None:
        keys = sorted({advisory_key(f"lk.row:{name}") for name in names})
        if keys:  # in one order everywhere: two transactions never wait for each other in a ring
            await self._conn.execute(
                "SELECT pg_advisory_xact_lock(k) FROM (SELECT unnest($1::bigint[]) AS k ORDER BY 1) AS keys",
                keys,
            )


def advisory_key(text: str) -> int:
    """A PostgreSQL advisory lock's key for ``text``: 64 bits of a hash, as a signed bigint."""
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class PostgresReadStore(ReadStore):
    """An asyncpg pool on the stack's PostgreSQL database. With ``service``, every connection
    works in the service's own schema (``search_path``, nothing else: shared/schemas.py),
    created (and what was the service's in ``public`` moved into it) on open."""

    def __init__(self, dsn: str, max_size: int = 5, timeout: float = 5.0, service: str | None = None) -> None:
        self.dsn = dsn
        self.max_size = max_size
        self.timeout = timeout
        self.service = service
        self.schema = schemas.schema_of(service) if service else None
        self._pool: asyncpg.Pool | None = None

    async def open(self) -> None:
        server_settings: dict[str, str] = {}
        if self.service and self.schema:
            moved = await asyncio.to_thread(schemas.prepare, self.dsn, self.service)
            if moved:
                log.warning("readstore.moved_to_schema", schema=self.schema, tables=moved)
            server_settings["search_path"] = self.schema
        self._pool = await asyncpg.create_pool(
            self.dsn,
            min_size=1,
            max_size=self.max_size,
            timeout=self.timeout,
            command_timeout=self.timeout,
            server_settings=server_settings,
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

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        """A ``SELECT`` outside a transaction is one statement (atomic on its own): no
        ``BEGIN``/``COMMIT`` round trips around it."""
        if self._pool is None or sql.lstrip()[:6].upper() != "SELECT":
            return await super().fetch(sql, *args)
        async with self._pool.acquire(timeout=self.timeout) as conn:
            return [dict(r) for r in await conn.fetch(sql, *args)]

    async def migrate(self, ddl: Sequence[str]) -> None:
        # Concurrent processes may create the same tables at once; serialise them.
        async with self.transaction() as tx:
            await tx.execute("SELECT pg_advisory_xact_lock($1)", schemas.MIGRATION_LOCK)
            for statement in ddl:
                await tx.execute(statement)


def build_readstore(settings: Settings, service: str) -> ReadStore:
    """The read store of ``service`` for the configured mode."""
    if settings.embedded:
        return SQLiteReadStore(settings.service_dir(service) / "read.sqlite")
    return PostgresReadStore(settings.postgres_dsn, timeout=settings.db_timeout, service=service)
