"""Read-model storage port: the same SQL on SQLite (embedded) and PostgreSQL (real stack).

SQL is written with ``$1``-style placeholders, which SQLite reads as ``?1``. Only
portable SQL is used (``INSERT … ON CONFLICT``, standard types). Every table a
service owns is prefixed with the service name.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import re
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import structlog

from shared import schemas
from shared.settings import Settings

log = structlog.get_logger(__name__)

Row = dict[str, Any]
T = TypeVar("T")
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

    async def guard(self, sql: str, *args: Any, check: Callable[[Any], None]) -> None:
        """``check`` the first value of ``sql``'s first row (None without one), within this
        transaction; what ``check`` raises fails the transaction. PostgreSQL asks at once; on
        SQLite the question waits for the next trip to the store (the commit, for a batch that
        reads nothing), ahead of the writes waiting with it — the transaction holds the file's
        lock from its first statement to its commit, so a check there decides the same."""
        check(await self.fetchval(sql, *args))


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

    async def lookup(self, sql: str, *args: Any) -> list[Row]:
        """A ``SELECT`` of a few rows by key (an index answers it at once): on SQLite read on
        the event loop itself rather than on the reading thread (:class:`SQLiteReadStore`)."""
        return await self.fetch(sql, *args)

    async def execute(self, sql: str, *args: Any) -> None:
        async with self.transaction() as tx:
            await tx.execute(sql, *args)

    async def ping(self) -> None:
        """Raises unless the database answers (for readiness)."""
        await self.fetchval("SELECT 1")


class _SQLiteThread:
    """One sqlite3 connection and the one thread that uses it: each call hands a function of
    the connection to that thread and awaits its result (one hand-off, whatever the function
    does)."""

    def __init__(self, path: Path, name: str) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._path = path
        self._conn: sqlite3.Connection | None = None

    async def open(self, *pragmas: str) -> None:
        def connect() -> sqlite3.Connection:
            conn = sqlite3.connect(self._path, isolation_level=None, timeout=30)
            for pragma in pragmas:
                conn.execute(pragma)
            return conn

        self._conn = await self.call(lambda _: connect())

    async def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, fn, self._conn)  # type: ignore[arg-type]

    async def close(self) -> None:
        if self._conn is not None:
            await self.call(lambda conn: conn.close())
            self._conn = None
        self._pool.shutdown(wait=True)


def _rows(cursor: sqlite3.Cursor) -> list[Row]:
    names = [column[0] for column in cursor.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# SQL, its arguments (or rows), and how: "one", "many" rows, or "guard" (a check of its value)
Statement = tuple[str, Sequence[Any], str, Callable[[Any], None] | None]
CHECKPOINT_EVERY = 500  # commits of the loop's connection between two checkpoints of the WAL


def sqlite_busy(exc: sqlite3.OperationalError) -> bool:
    """The file's write lock is held elsewhere (another process): wait for it off the loop."""
    return getattr(exc, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


class _Writer:
    """A store's writing side. Its statements take microseconds (small indexed writes, WAL,
    no fsync at commit), far less than a hand-off to a thread and back, which also competes
    for the GIL under load: so they run on the event loop itself, on a connection that never
    waits for the file's lock (busy timeout 0). A transaction that finds the file locked by
    another process (``lk ops rebuild``'s swap, a seed) runs instead on a connection of its
    own thread, which waits (30 s). The loop's connection does not checkpoint the WAL as it
    commits (that one write would fsync); the thread does, every ``CHECKPOINT_EVERY``
    commits, beside the loop."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.thread = _SQLiteThread(path, "sqlite-write")
        self.direct: sqlite3.Connection | None = None
        self._commits = 0
        self._checkpoint: asyncio.Task[None] | None = None

    async def open(self) -> None:
        await self.thread.open("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL")
        direct = sqlite3.connect(self.path, isolation_level=None, timeout=0)
        direct.execute("PRAGMA synchronous=NORMAL")
        direct.execute("PRAGMA wal_autocheckpoint=0")
        self.direct = direct

    def committed(self) -> None:
        self._commits += 1
        if self._commits % CHECKPOINT_EVERY == 0 and (self._checkpoint is None or self._checkpoint.done()):
            self._checkpoint = asyncio.create_task(self._checkpoint_wal())

    async def _checkpoint_wal(self) -> None:
        try:
            await self.thread.call(lambda conn: conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall())
        except sqlite3.Error as exc:  # the next one tries again
            log.warning("readstore.checkpoint_failed", path=str(self.path), error=str(exc))

    async def close(self) -> None:
        if self._checkpoint is not None:
            with contextlib.suppress(Exception):
                await self._checkpoint
        if self.direct is not None:
            self.direct.close()
            self.direct = None
        await self.thread.close()


class _SQLiteTx(Tx):
    """A transaction whose writes wait in memory and are sent together: with the first read
    (which sees them), or with ``COMMIT`` — on the loop's connection, or all of it on the
    thread's if the file was locked when it began (:class:`_Writer`). A failing statement is
    raised where it is sent (that read, or the commit), and the whole transaction is rolled
    back: nothing of it stays."""

    def __init__(self, writer: _Writer) -> None:
        self._writer = writer
        self._pending: list[Statement] = []
        self._begun = False
        self._threaded = False

    async def execute(self, sql: str, *args: Any) -> None:
        self._pending.append((_sqlite(sql), args, "one", None))

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._pending.append((_sqlite(sql), list(rows), "many", None))

    async def guard(self, sql: str, *args: Any, check: Callable[[Any], None]) -> None:
        self._pending.append((_sqlite(sql), args, "guard", check))

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        query = _sqlite(sql)
        return await self._send(lambda conn: _rows(conn.execute(query, args)))

    async def attempt(self, sql: str) -> Exception | None:
        statement = _sqlite(sql)

        def attempt(conn: sqlite3.Connection) -> Exception | None:
            conn.execute("SAVEPOINT lk_attempt")
            try:
                conn.execute(statement)
            except Exception as exc:  # noqa: BLE001 - the caller decides what the failure means
                conn.execute("ROLLBACK TO SAVEPOINT lk_attempt")
                conn.execute("RELEASE SAVEPOINT lk_attempt")
                return exc
            conn.execute("RELEASE SAVEPOINT lk_attempt")
            return None

        return await self._send(attempt)

    async def _run(self, fn: Callable[[sqlite3.Connection], T], *, first: bool) -> T:
        """``fn`` on the transaction's connection; the hop that begins it decides which."""
        direct = self._writer.direct
        assert direct is not None, "store is not open"
        if not self._threaded:
            try:
                return fn(direct)
            except sqlite3.OperationalError as exc:
                if not (first and sqlite_busy(exc)):
                    raise
                if direct.in_transaction:
                    direct.execute("ROLLBACK")
            self._threaded = True  # locked by another process: wait for it, off the loop
        return await self._writer.thread.call(fn)

    async def _send(self, then: Callable[[sqlite3.Connection], T]) -> T:
        """Begin (the first time), write what waits, then ``then``, at once."""
        pending, self._pending = self._pending, []
        begin = not self._begun
        self._begun = True

        def run(conn: sqlite3.Connection) -> T:
            if begin:
                conn.execute("BEGIN IMMEDIATE")
            _write(conn, pending)
            return then(conn)

        return await self._run(run, first=begin)

    async def commit(self) -> None:
        pending, self._pending = self._pending, []
        if not pending and not self._begun:
            return  # nothing was read or written: nothing to send
        begin = not self._begun
        self._begun = True

        def commit(conn: sqlite3.Connection) -> None:
            try:
                if begin:
                    conn.execute("BEGIN IMMEDIATE")
                _write(conn, pending)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

        await self._run(commit, first=begin)
        if not self._threaded:
            self._writer.committed()

    async def rollback(self) -> None:
        self._pending = []
        if self._begun:
            await self._run(_rollback, first=False)


def _write(conn: sqlite3.Connection, statements: list[Statement]) -> None:
    for sql, args, how, check in statements:
        if how == "many":
            conn.executemany(sql, args)
        elif check is not None:
            rows = conn.execute(sql, args).fetchall()  # stepped to its end (a RETURNING)
            check(rows[0][0] if rows else None)
        else:
            conn.execute(sql, args)


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")


class SQLiteReadStore(ReadStore):
    """One SQLite file (WAL); transactions in this process are serialised by a lock and run
    on the event loop (:class:`_Writer`, :class:`_SQLiteTx`). A query outside a transaction
    (``fetch``, ``fetchrow``, ``fetchval`` of a ``SELECT``: the API's reads, some of them
    scans) goes to a second, reading connection on a thread of its own instead: WAL lets it
    read the last committed state while a transaction writes, so the API's reads neither wait
    for the consumers' batches nor take the writers' lock, nor hold the loop."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: _Writer | None = None
        self._reader: _SQLiteThread | None = None
        self._quick: sqlite3.Connection | None = None  # point reads on the loop (lookup)
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        writer = _Writer(self.path)
        await writer.open()
        reader = _SQLiteThread(self.path, "sqlite-read")
        await reader.open()
        self._writer, self._reader = writer, reader
        self._quick = sqlite3.connect(self.path, isolation_level=None, timeout=0)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        """A ``SELECT`` on the reading connection; any other statement (``INSERT … RETURNING``)
        is a transaction of its own."""
        if self._reader is None or sql.lstrip()[:6].upper() != "SELECT":
            return await super().fetch(sql, *args)
        query = _sqlite(sql)
        return await self._reader.call(lambda conn: _rows(conn.execute(query, args)))

    async def lookup(self, sql: str, *args: Any) -> list[Row]:
        """On the loop's own reading connection (a read in WAL mode never waits for a writer;
        in the rare moment it must, such as the WAL's recovery, the reading thread asks)."""
        if self._quick is None:
            return await self.fetch(sql, *args)
        try:
            return _rows(self._quick.execute(_sqlite(sql), args))
        except sqlite3.OperationalError as exc:
            if not sqlite_busy(exc):
                raise
        return await self.fetch(sql, *args)

    async def close(self) -> None:
        if self._quick is not None:
            self._quick.close()
            self._quick = None
        if self._reader is not None:
            await self._reader.close()
            self._reader = None
        if self._writer is not None:
            await self._writer.close()
            self._writer = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        assert self._writer is not None, "store is not open"
        async with self._lock:
            tx = _SQLiteTx(self._writer)
            try:
                yield tx
            except BaseException:
                await tx.rollback()
                raise
            await tx.commit()


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
        """One statement outside a transaction (a ``SELECT``, an ``INSERT … RETURNING``) is
        atomic on its own: no ``BEGIN``/``COMMIT`` round trips around it."""
        assert self._pool is not None, "store is not open"
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
