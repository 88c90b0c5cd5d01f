"""``lk ops rebuild <projection>``: a read model rebuilt from offset 0 into fresh tables while
the service keeps answering from the old ones, then swapped in at once.

1. The projection's tables (its ``ddl``) are created again under shadow names
   (``<table>__rebuild``, indexes likewise) and a runner named ``<projection>#rebuild`` feeds
   them from the beginning of its topics: the projection's own code runs, its SQL pointed at
   the shadow tables. A write to a table the projection does not declare is refused (it would
   touch live rows). The runner holds every stream it applied in memory (it never forgets one,
   so it never looks one up) and keeps its positions there too: nothing of them is written per
   batch. A rebuild that stops half-way leaves shadow tables that the next one drops anyway.
2. Once it has reached the ends of the topics (read when it started, then once more), the
   projection's ``load`` runs on the filled shadow: what it creates (the view's trigram index)
   is built once, not kept up by every insert of the fill. Then one transaction swaps: bumps
   the projection's generation (``lk_consumer_generations``), writes the runner's positions
   (streams' sequences, next offsets) as the projection's, drops the old tables, renames the
   shadow ones (PostgreSQL and SQLite both rename tables in a transaction) and gives the
   indexes their names back. Readers see the old tables or the new, never none.
3. The service's own runner of the projection meets the new generation at its next batch
   (it locks the generation row first in every batch), rolls that batch back and reloads
   its positions and memory from the new tables; it then applies whatever arrived after
   the rebuild's last batch. No restart and no signal is needed.

Only read models are rebuildable (:data:`REBUILDABLE`): the notifier's projections decide
e-mails, and a rebuild of those would send them again. The kernel names the projections,
never imports them (as shared/cli.py does for commands)."""

from __future__ import annotations

import asyncio
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import import_module
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from shared import deadletters
from shared.consumer import CONSUMER_DDL, ConsumerRunner, Projection, Stream
from shared.events import Envelope
from shared.readstore import PostgresReadStore, ReadStore, Row, Tx, build_readstore
from shared.settings import Settings
from shared.topology import topics
from shared.transport import Message, Transport, build_transport

REBUILDABLE = {
    "identity.directory": "services.identity.projections:AccountDirectory",
    "applications.view": "services.applications.projections:ApplicationsView",
    "applications.documents": "services.applications.projections:DocumentsView",
    "applications.process": "services.applications.projections:ProcessView",
    "applications.chat": "services.applications.projections:ChatCounters",
    "applications.forms": "services.applications.projections:FormsView",
    "applications.file_hashes": "services.applications.projections.hashes:FileHashes",
    "files.catalog": "services.files.projections:Catalog",
}
SHADOW = "__rebuild"
BATCH = 5000  # records per transaction of the rebuild
SUFFIX = "#rebuild"  # the rebuilding runner's consumer name: <projection>#rebuild

_TABLE = re.compile(r"CREATE TABLE IF NOT EXISTS (\w+)", re.IGNORECASE)
_INDEX = re.compile(r"CREATE (?:UNIQUE )?INDEX IF NOT EXISTS (\w+)", re.IGNORECASE)
_WRITE = re.compile(r"^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(\w+)", re.IGNORECASE)

Ends = dict[tuple[str, int], int]
"""(topic, partition) → the offset after its last record."""


def projection_named(name: str) -> Projection:
    """A fresh instance of a rebuildable projection (KeyError for another name)."""
    module, attr = REBUILDABLE[name].split(":")
    made: Projection = getattr(import_module(module), attr)()
    return made


class Shadow:
    """The names of a projection's tables and indexes, live and shadow."""

    def __init__(self, tables: Sequence[str], indexes: Sequence[str]) -> None:
        self.tables = tuple(tables)
        self.indexes = tuple(indexes)
        names = "|".join(map(re.escape, (*self.tables, *self.indexes)))
        self._pattern = re.compile(rf"\b({names})\b")
        self._cache: dict[str, str] = {}
        self.refused: str | None = None  # a write to a table not declared: the rebuild stops

    @classmethod
    def of(cls, ddl: Sequence[str]) -> Shadow:
        tables = [m.group(1) for s in ddl if (m := _TABLE.search(s))]
        indexes = [m.group(1) for s in ddl if (m := _INDEX.search(s))]
        return cls(tables, indexes)

    def rename(self, sql: str) -> str:
        """``sql`` with every live name of ours replaced by its shadow."""
        found = self._cache.get(sql)
        if found is None:
            found = self._cache[sql] = self._pattern.sub(lambda m: m.group(1) + SHADOW, sql)
        return found


class _ShadowTx(Tx):
    """A transaction whose statements address the shadow tables."""

    def __init__(self, tx: Tx, shadow: Shadow) -> None:
        self._tx = tx
        self._shadow = shadow
        self.postgres = tx.postgres

    def _sql(self, sql: str) -> str:
        renamed = self._shadow.rename(sql)
        written = _WRITE.match(renamed)
        if written and not written.group(1).endswith(SHADOW):
            self._shadow.refused = f"the projection writes {written.group(1)}, a table it does not declare"
            raise RuntimeError(self._shadow.refused)
        return renamed

    async def execute(self, sql: str, *args: Any) -> None:
        await self._tx.execute(self._sql(sql), *args)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await self._tx.executemany(self._sql(sql), rows)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return await self._tx.fetch(self._sql(sql), *args)


class _ShadowProjection(Projection):
    """The projection itself, its name suffixed and its SQL pointed at the shadow tables."""

    def __init__(self, inner: Projection, shadow: Shadow) -> None:
        self.inner = inner
        self.shadow = shadow
        self.name = inner.name + SUFFIX
        self.topics = tuple(inner.topics)
        self.ddl = tuple(shadow.rename(s) for s in inner.ddl)
        self.filled = False  # until then its load is put off (:meth:`load`)

    async def handle(self, tx: Tx, event: Envelope) -> None:
        await self.inner.handle(_ShadowTx(tx, self.shadow), event)

    async def handle_many(self, tx: Tx, events: Sequence[Envelope]) -> None:
        await self.inner.handle_many(_ShadowTx(tx, self.shadow), events)

    async def load(self, tx: Tx) -> None:
        """Nothing while the tables are empty (the runner's setup: there is nothing to warm);
        the projection's own load once they are filled (:meth:`Rebuild.build`)."""
        if self.filled:
            await self.inner.load(_ShadowTx(tx, self.shadow))


class _RebuildRunner(ConsumerRunner):
    """A runner that holds every stream it meets (from offset 0 nothing was applied before: it
    never needs to look one up) and stores no positions per batch: :meth:`Rebuild.swap` writes
    what it holds (``_seen``, ``next_offsets``) as the projection's, once."""

    def __init__(self, projection: Projection, transport: Transport, store: ReadStore) -> None:
        super().__init__(projection, transport, store)
        self.seen_max = sys.maxsize

    async def record_progress(
        self, tx: Tx, last: dict[Stream, int], next_offsets: dict[tuple[str, int], int]
    ) -> None:
        return None  # held in memory once the batch commits (ConsumerRunner.apply_batch)


class _Behind(Exception):
    """The service's runner applied events the shadow has not yet: catch up, swap again."""


@dataclass
class Rebuilt:
    events: int  # records read (every one of the topics, applied or skipped)
    seconds: float  # from the shadow's creation to its last batch and its load (indexes)
    swap_seconds: float  # the catch-up after that, if any, and the swap (positions written in it)

    @property
    def per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


Tick = Callable[[int, int], None]
"""(records read so far, records to read): progress."""


class Rebuild:
    """One rebuild of ``projection`` in ``store`` from ``transport``."""

    def __init__(self, projection: Projection, store: ReadStore, transport: Transport) -> None:
        self.projection = projection
        self.store = store
        self.transport = transport
        # What only PostgreSQL creates (the projection's load does, e.g. an extension's index)
        # is named in the shadow as well.
        self.shadow = Shadow.of([*projection.ddl, *getattr(projection, "postgres_ddl", ())])
        service = projection.name.split(".", 1)[0]
        strays = [t for t in (*self.shadow.tables, *self.shadow.indexes) if not t.startswith(service + "_")]
        if strays or not self.shadow.tables:
            raise ValueError(f"{projection.name}: its tables are not its service's own: {strays}")
        self.filling = _ShadowProjection(projection, self.shadow)
        self.runner = _RebuildRunner(self.filling, transport, store)
        self.read = 0
        self.positions: Ends = {}

    async def run(self, tick: Tick = lambda done, total: None) -> Rebuilt:
        started = time.perf_counter()
        await self.build(tick)
        built = time.perf_counter() - started
        await self.finish(tick)
        return Rebuilt(self.read, built, time.perf_counter() - started - built)

    async def build(self, tick: Tick = lambda done, total: None) -> None:
        """The shadow tables, filled up to the ends of the topics, then the projection's load
        (an index it creates is built once, from the filled table)."""
        await self._drop_shadow()
        await self.runner.setup()  # the shadow tables, from the projection's own DDL
        await self.runner.load_seen()  # none: every stream it meets is new, nothing to recall
        for _round in range(2):  # up to the ends seen at the start, then up to the ends seen then
            await self._follow(await self.transport.end_offsets(self.projection.topics), tick)
        self.filling.filled = True
        async with self.store.transaction() as tx:
            await self.filling.load(tx)

    async def finish(self, tick: Tick = lambda done, total: None, attempts: int = 20) -> None:
        """Swap; while the service's runner is found ahead of the shadow (it applied events
        meanwhile), catch up and try again."""
        for _attempt in range(attempts):
            try:
                await self.swap()
                return
            except _Behind:
                await self._follow(await self.transport.end_offsets(self.projection.topics), tick)
        raise RuntimeError(f"{self.projection.name}: the service kept ahead of the rebuild {attempts} times")

    def _reached(self, ends: Ends) -> bool:
        return all(self.positions.get(key, 0) >= end for key, end in ends.items())

    async def _follow(self, ends: Ends, tick: Tick) -> None:
        total = sum(ends.values())
        tick(self.read, total)
        if self._reached(ends):
            return
        # From where the runner's last batch left off: its positions are not stored until the swap.
        batches = self.transport.consume(list(self.projection.topics), dict(self.runner.next_offsets))
        pending: list[Message] = []
        try:
            async for batch in batches:
                pending.extend(batch)
                for message in batch:
                    key = (message.topic, message.partition)
                    self.positions[key] = max(self.positions.get(key, 0), message.offset + 1)
                reached = self._reached(ends)
                # The transport's batches are what one fetch brought (tens of records from
                # Kafka): a transaction costs the same for a few as for thousands.
                if pending and (len(pending) >= BATCH or not batch or reached):
                    # As the live runner does: an event that keeps failing (a poison event the
                    # service parked, or one this code cannot apply) is parked, not fatal.
                    await self.runner.take(pending)
                    if self.shadow.refused:  # the projection's fault, not an event's: no letter
                        raise RuntimeError(self.shadow.refused)
                    self.read += len(pending)
                    pending = []
                    tick(self.read, total)
                if reached:
                    return
        finally:
            close = getattr(batches, "aclose", None)  # the adapters' are generators: stop it now
            if close is not None:
                await close()

    async def _drop_shadow(self) -> None:
        """What a rebuild that did not finish left behind."""
        await self.store.migrate([*CONSUMER_DDL, *deadletters.dead_letter_ddl(self.store)])
        name = self.runner.projection.name
        async with self.store.transaction() as tx:
            for table in self.shadow.tables:
                await tx.execute(f"DROP TABLE IF EXISTS {table}{SHADOW}")
            for table in (
                "lk_consumer_offsets",
                "lk_consumer_applied",
                "lk_consumer_generations",
                "lk_dead_letters",
            ):
                await tx.execute(f"DELETE FROM {table} WHERE consumer = $1", name)  # noqa: S608 - ours

    async def _not_behind(self, tx: Tx, name: str) -> None:
        """Raise :class:`_Behind` if the service's runner has read further than the shadow in
        any partition: what it applied there to the old tables would be missing from the new
        (rolled back with the swap; the live runner never waits long)."""
        rows = await tx.fetch(
            "SELECT topic, part, next_offset FROM lk_consumer_offsets WHERE consumer = $1", name
        )
        shadow = self.runner.next_offsets
        if any(shadow.get((str(r["topic"]), int(r["part"])), 0) < int(r["next_offset"]) for r in rows):
            raise _Behind(name)

    async def _write_positions(self, tx: Tx, name: str) -> None:
        """The runner's positions, held in memory all along, as the projection's (its old ones
        go: they were the old tables')."""
        for table in ("lk_consumer_offsets", "lk_consumer_applied"):
            await tx.execute(f"DELETE FROM {table} WHERE consumer = $1", name)  # noqa: S608 - ours
        await tx.insert_rows(
            "lk_consumer_applied",
            ("consumer", "source", "subject", "sequence"),
            [(name, source, subject, sequence) for (source, subject), sequence in self.runner._seen.items()],
        )
        await tx.insert_rows(
            "lk_consumer_offsets",
            ("consumer", "topic", "part", "next_offset"),
            [(name, topic, part, offset) for (topic, part), offset in self.runner.next_offsets.items()],
        )

    async def swap(self) -> None:
        """The shadow tables and positions become the projection's, in one transaction."""
        name, shadow_name = self.projection.name, self.runner.projection.name
        postgres = isinstance(self.store, PostgresReadStore)
        async with self.store.transaction() as tx:
            # First: the live runners' batches lock this row, so none is half-way now, and
            # none commits until this transaction ends.
            await tx.execute(
                "INSERT INTO lk_consumer_generations (consumer, generation) VALUES ($1, 1)"
                " ON CONFLICT (consumer) DO UPDATE SET generation = lk_consumer_generations.generation + 1",
                name,
            )
            await self._not_behind(tx, name)
            # Before the tables are touched: readers of the old ones wait only for what follows.
            await self._write_positions(tx, name)
            for table in self.shadow.tables:
                await tx.execute(f"DROP TABLE IF EXISTS {table}")
                await tx.execute(f"ALTER TABLE {table}{SHADOW} RENAME TO {table}")
            if postgres:  # indexes (the primary keys' too) take back their names
                for table in self.shadow.tables:
                    for row in await tx.fetch(
                        "SELECT indexname FROM pg_indexes WHERE tablename = $1"
                        " AND schemaname = ANY (current_schemas(false))",
                        table,
                    ):
                        index = str(row["indexname"])
                        if SHADOW in index:
                            await tx.execute(f"ALTER INDEX {index} RENAME TO {index.replace(SHADOW, '')}")
            else:  # SQLite renames no index: each is made again under its name
                for index in self.shadow.indexes:
                    await tx.execute(f"DROP INDEX IF EXISTS {index}{SHADOW}")
                for statement in self.projection.ddl:
                    if _INDEX.search(statement):
                        await tx.execute(statement)
            await tx.execute("DELETE FROM lk_consumer_generations WHERE consumer = $1", shadow_name)
            # Dead letters: the new tables hold every event but those the rebuild parked, so the
            # live consumer's open letters give way to the shadow's (skipped ones stay: audit).
            await tx.execute(
                "DELETE FROM lk_dead_letters WHERE consumer = $1 AND (status <> $2 OR EXISTS (SELECT 1"
                " FROM lk_dead_letters s WHERE s.consumer = $3 AND s.topic = lk_dead_letters.topic"
                " AND s.part = lk_dead_letters.part AND s.offs = lk_dead_letters.offs))",
                name,
                deadletters.SKIPPED,
                shadow_name,
            )
            await tx.execute(
                "UPDATE lk_dead_letters SET consumer = $1 WHERE consumer = $2", name, shadow_name
            )


async def rebuild(settings: Settings, name: str, tick: Tick = lambda done, total: None) -> Rebuilt:
    """Rebuild the projection ``name`` of its service's read store (see the module's text)."""
    projection = projection_named(name)
    projection.topics = topics(name, settings)
    store = build_readstore(settings, name.split(".", 1)[0])
    await store.open()
    transport = build_transport(settings)
    await transport.start()
    try:
        return await Rebuild(projection, store, transport).run(tick)
    finally:
        await transport.stop()
        await store.close()


def rebuild_command(
    projection: str = typer.Argument(..., help="Проекция: " + ", ".join(REBUILDABLE)),
) -> None:
    """Перестроить модель чтения с нулевого смещения в новые таблицы и атомарно подменить ими
    старые; сервис всё это время отвечает по старым и сам продолжает с новых позиций."""
    if projection not in REBUILDABLE:
        typer.echo(
            f"Проекцию {projection} перестроить нельзя. Можно: {', '.join(REBUILDABLE)}."
            " (Проекции уведомителя решают, какие письма отправить: их перестроение разослало бы письма снова.)",
            err=True,
        )
        raise typer.Exit(2)
    settings = Settings()
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
    ) as bar:
        task = bar.add_task(f"{projection}: события", total=None)
        done = asyncio.run(
            rebuild(settings, projection, lambda read, total: bar.update(task, completed=read, total=total))
        )
    typer.echo(
        f"Проекция {projection} перестроена: {done.events} событий за {done.seconds:.1f} с"
        f" ({done.per_second:.0f} событий/с), подмена таблиц {done.swap_seconds * 1000:.0f} мс."
    )
