"""The consumer runner: applies public events to a read model exactly once in effect.

For each batch, in ONE read-store transaction: skip events already applied (per stream,
by sequence: a relay may republish), let the projection write its rows, and store the
next offsets. A crash rolls everything back together, so a restart neither loses nor
doubles an effect.

A batch that fails is applied again event by event, each in its own transaction, to find the
poison one: an event that fails ``dead_letter_attempts`` times is parked as a dead letter
(shared/deadletters.py) with its offset moved past it, and the projection goes on. A read
store that is down parks nothing: the runner stops and starts again from its offsets.

A stream is (source service, aggregate id), never a bare id: a chat thread's id is its
application's id, and a consumer of both topics must keep their sequences apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

import structlog

from shared import deadletters
from shared.deadletters import Failure
from shared.events import Envelope
from shared.readstore import ReadStore, Tx
from shared.transport import Message, Transport

log = structlog.get_logger(__name__)

CONSUMER_DDL = [
    "CREATE TABLE IF NOT EXISTS lk_consumer_offsets (consumer TEXT NOT NULL, topic TEXT NOT NULL,"
    " part INTEGER NOT NULL, next_offset BIGINT NOT NULL, PRIMARY KEY (consumer, topic, part))",
    "CREATE TABLE IF NOT EXISTS lk_consumer_applied (consumer TEXT NOT NULL, source TEXT NOT NULL,"
    " subject TEXT NOT NULL, sequence BIGINT NOT NULL, PRIMARY KEY (consumer, source, subject))",
    # Before streams were keyed by source: kept only to be migrated (see ConsumerRunner.migrate).
    "CREATE TABLE IF NOT EXISTS lk_consumer_seen (consumer TEXT NOT NULL, subject TEXT NOT NULL,"
    " sequence BIGINT NOT NULL, PRIMARY KEY (consumer, subject))",
    # Bumped when a rebuild swaps the projection's tables (shared/rebuild.py): runners reload.
    "CREATE TABLE IF NOT EXISTS lk_consumer_generations (consumer TEXT PRIMARY KEY, generation BIGINT NOT NULL)",
]

SEEN_MAX = 20_000  # streams a runner keeps in memory; the others are recalled from lk_consumer_applied
RECALL_AT_ONCE = 500  # subjects per recall query
STALLED_CHECK = 0.25  # how often a read-your-writes wait asks whether the events can come at all
RETRY_CHECK = 2.0  # while a consumer has dead letters, how often it looks for operators' retries

Stream = tuple[str, str]
"""(source service, aggregate id): what a sequence number counts."""


class Superseded(Exception):
    """The projection's tables and positions were swapped under the runner by a rebuild
    (shared/rebuild.py): what it holds in memory is another generation's; it reloads."""


def source_of(topic: str) -> str:
    """The service that publishes ``topic`` (``[prefix.]<service>.events``)."""
    return topic.removesuffix(".events").rsplit(".", 1)[-1]


class Projection(ABC):
    """A read model fed by public events."""

    name: str
    topics: Sequence[str] = ()  # empty: the runtime takes them from shared/topology.py
    ddl: Sequence[str] = ()

    @abstractmethod
    async def handle(self, tx: Tx, event: Envelope) -> None:
        """Apply one event inside the runner's transaction."""

    async def handle_many(self, tx: Tx, events: Sequence[Envelope]) -> None:
        """Apply a batch in order; override to write runs of rows with ``tx.executemany``."""
        for event in events:
            await self.handle(tx, event)

    async def load(self, tx: Tx) -> None:  # noqa: B027 - optional hook
        """Warm in-memory state from the stored rows (called once at start)."""


class ConsumerRunner:
    """Feeds ``projection`` from ``transport``, keeping its position in ``store``."""

    def __init__(
        self,
        projection: Projection,
        transport: Transport,
        store: ReadStore,
        on_applied: Callable[[], None] | None = None,
        *,
        attempts: int = 5,
        retry_first: float = 0.2,
        retry_max: float = 5.0,
    ) -> None:
        self.projection = projection
        self.on_applied = on_applied
        self.transport = transport
        self.store = store
        self.applied: dict[str, int] = {}  # source -> highest applied position
        # stream -> last applied sequence, for the streams met lately (at most ``seen_max``;
        # the rest are recalled from lk_consumer_applied when met again). This runner is the
        # only writer of its rows there, so what it holds stays exact.
        self._seen: dict[Stream, int] = {}
        self.seen_max = SEEN_MAX
        # Whether some applied streams are not held (the store had more than ``seen_max``, or
        # some were forgotten): only then is a stream not held looked up (:meth:`recall`).
        self._partial = True
        self._set_up = False  # its tables made (a wait may come before: nothing to recall then)
        self.generation = 0  # of the tables and positions loaded (lk_consumer_generations)
        # Read-your-writes waits: by stream, the sequence each waiter needs (woken only when
        # its stream is applied that far); any other wait, on the next applied batch.
        self._waiters: dict[Stream, list[tuple[int, asyncio.Future[None]]]] = {}
        self._batch_applied = asyncio.Event()
        # Whether the events awaited can arrive at all: set to the service's own relay's
        # ``stalled`` so read-your-writes waits give up at once while its transport is down.
        self.stalled: Callable[[], bool] = lambda: False
        # Dead letters: tries of one event alone before it is parked, and the waits between.
        self.attempts = max(1, attempts)
        self.retry_first = retry_first
        self.retry_max = retry_max
        self.dead_letters = 0  # this consumer's letters still open (parked or asked to be retried)
        self.parked_total = 0  # parked by this process since it started
        self._retry_checked = 0.0
        self.next_offsets: dict[tuple[str, int], int] = {}  # as committed (lag, /metrics)

    async def setup(self) -> None:
        await self.store.migrate(
            [*CONSUMER_DDL, *deadletters.dead_letter_ddl(self.store), *self.projection.ddl]
        )
        await self.migrate()
        async with self.store.transaction() as tx:
            await self.projection.load(tx)
        self._set_up = True
        self.dead_letters = len(await deadletters.open_letters(self.store, self.projection.name))

    async def migrate(self) -> None:
        """Move what was applied per bare id (the old table) to per-stream rows, once.

        With one topic the source of every row is known. With several, a row may hide
        events of another source that were wrongly skipped (same id, lower sequence), so
        the consumer reads its topics again from the beginning: projections are idempotent
        (rows keyed by event, subject or id; e-mails by event id), and whatever was skipped
        is applied now."""
        name = self.projection.name
        async with self.store.transaction() as tx:
            old = await tx.fetchval("SELECT COUNT(*) FROM lk_consumer_seen WHERE consumer = $1", name)
            if not old:
                return
            if len(self.projection.topics) == 1:
                await tx.execute(
                    "INSERT INTO lk_consumer_applied (consumer, source, subject, sequence)"
                    " SELECT consumer, $2, subject, sequence FROM lk_consumer_seen WHERE consumer = $1"
                    " ON CONFLICT (consumer, source, subject) DO NOTHING",
                    name,
                    source_of(self.projection.topics[0]),
                )
            else:
                await tx.execute("DELETE FROM lk_consumer_offsets WHERE consumer = $1", name)
                await tx.execute("DELETE FROM lk_consumer_applied WHERE consumer = $1", name)
            await tx.execute("DELETE FROM lk_consumer_seen WHERE consumer = $1", name)
        log.warning("consumer.migrated", consumer=name, rows=int(old), replay=len(self.projection.topics) > 1)

    async def load_generation(self) -> None:
        """Load first, then the offsets and ``_seen``: a swap in between is then caught by
        the first batch (:meth:`check_generation`), never missed."""
        name = self.projection.name
        async with self.store.transaction() as tx:
            await tx.execute(
                "INSERT INTO lk_consumer_generations (consumer, generation) VALUES ($1, 0)"
                " ON CONFLICT (consumer) DO NOTHING",
                name,
            )
            found = await tx.fetchval(
                "SELECT generation FROM lk_consumer_generations WHERE consumer = $1", name
            )
        self.generation = int(found or 0)

    async def check_generation(self, tx: Tx) -> None:
        """Raise :class:`Superseded` if a rebuild swapped the tables since they were loaded. The
        no-op update locks the row that the swap bumps first, so a batch and a swap never
        interleave: either the batch commits before the swap starts, or it waits for the swap
        and then sees the new generation (PostgreSQL, read committed; SQLite's transactions
        are serial anyway)."""
        name, generation = self.projection.name, self.generation

        def same(found: Any) -> None:
            if found is not None and int(found) != generation:
                raise Superseded(name)

        await tx.guard(
            "UPDATE lk_consumer_generations SET generation = generation WHERE consumer = $1 RETURNING generation",
            name,
            check=same,
        )

    async def load_seen(self) -> None:
        """Hold at most ``seen_max`` of the streams applied (all of a small store); the others
        are recalled as they are met (:meth:`recall`): memory and start time stay bounded
        however many streams were ever applied."""
        rows = await self.store.fetch(
            "SELECT source, subject, sequence FROM lk_consumer_applied WHERE consumer = $1 LIMIT $2",
            self.projection.name,
            self.seen_max,
        )
        self._seen = {(r["source"], r["subject"]): int(r["sequence"]) for r in rows}
        self._partial = len(rows) >= self.seen_max

    async def recall(self, streams: set[Stream]) -> None:
        """Read the applied sequences of the ``streams`` not held (0 for one never applied).

        A projection that runs in every replica (``every_replica``: state in each process's
        memory, idempotent rows) shares its rows with the other replicas' runners: a row one
        of them wrote says nothing of this process's memory, so a stream not held here is
        applied again (0), never recalled."""
        if not self._partial or getattr(self.projection, "every_replica", False):
            return  # all it ever applied is held: a stream not held was never applied
        wanted: dict[str, list[str]] = {}
        for source, subject in sorted(streams):
            if (source, subject) not in self._seen:
                wanted.setdefault(source, []).append(subject)
        for source, subjects in wanted.items():
            for i in range(0, len(subjects), RECALL_AT_ONCE):
                chunk = subjects[i : i + RECALL_AT_ONCE]
                marks = ", ".join(f"${n}" for n in range(3, len(chunk) + 3))
                rows = await self.store.fetch(
                    "SELECT subject, sequence FROM lk_consumer_applied"  # noqa: S608 - placeholders only
                    f" WHERE consumer = $1 AND source = $2 AND subject IN ({marks})",
                    self.projection.name,
                    source,
                    *chunk,
                )
                found = {r["subject"]: int(r["sequence"]) for r in rows}
                for subject in chunk:  # never below what a batch committed meanwhile
                    stream = (source, subject)
                    self._seen[stream] = max(self._seen.get(stream, 0), found.get(subject, 0))

    def _forget(self) -> None:
        """Keep the ``seen_max`` streams met last (a dict keeps the order they were set in);
        run after a batch is decided, never between its recall and its decisions."""
        for stream in list(itertools.islice(self._seen, max(0, len(self._seen) - self.seen_max))):
            del self._seen[stream]
            self._partial = True

    async def load_offsets(self) -> dict[tuple[str, int], int]:
        rows = await self.store.fetch(
            "SELECT topic, part, next_offset FROM lk_consumer_offsets WHERE consumer = $1",
            self.projection.name,
        )
        found = {(r["topic"], int(r["part"])): int(r["next_offset"]) for r in rows}
        self.next_offsets = dict(found)
        return found

    async def record_progress(
        self, tx: Tx, last: dict[Stream, int], next_offsets: dict[tuple[str, int], int]
    ) -> None:
        """Store what a batch applied, in its transaction: the last sequence of each stream it
        applied, and the next offset of each partition it read. (A rebuild's runner stores
        them once, in the swap: shared/rebuild.py.)"""
        name = self.projection.name
        await tx.executemany(
            "INSERT INTO lk_consumer_applied (consumer, source, subject, sequence) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (consumer, source, subject) DO UPDATE SET sequence = excluded.sequence",
            [(name, source, subject, sequence) for (source, subject), sequence in last.items()],
        )
        await tx.executemany(
            "INSERT INTO lk_consumer_offsets (consumer, topic, part, next_offset)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (consumer, topic, part)"
            " DO UPDATE SET next_offset = excluded.next_offset",
            [(name, topic, part, offset) for (topic, part), offset in next_offsets.items()],
        )

    async def apply_batch(self, batch: Sequence[Message], park: Failure | None = None) -> int:
        """Apply a batch in one transaction; returns how many events took effect. A record
        that is no envelope is parked at once; ``park``: the one message of ``batch`` failed
        too often and is parked instead of applied (its offset and sequence move on all the
        same)."""
        name = self.projection.name
        next_offsets: dict[tuple[str, int], int] = {}
        high: dict[str, int] = {}
        fresh: list[Envelope] = []
        last: dict[Stream, int] = {}  # stream -> sequence applied by this batch
        parked: list[Failure] = [park] if park is not None else []
        events: list[Envelope] = []
        for msg in batch:
            next_offsets[(msg.topic, msg.partition)] = msg.offset + 1
            try:
                events.append(Envelope.from_bytes(msg.value))
            except ValueError as exc:
                log.error("consumer.bad_record", consumer=name, topic=msg.topic, offset=msg.offset)
                if park is None:  # nothing can ever apply it: parked at once
                    parked.append(_failure(msg, None, exc, 1, deadletters.now()))
        await self.recall({(event.source, event.subject) for event in events})
        for event in events:
            high[event.source] = max(high.get(event.source, 0), event.position)
            stream = (event.source, event.subject)
            if event.sequence <= last.get(stream, self._seen.get(stream, 0)):
                continue  # already applied (a relay may republish)
            last[stream] = event.sequence
            if park is None:
                fresh.append(event)
        async with self.store.transaction() as tx:
            await self.check_generation(tx)
            await self.projection.handle_many(tx, fresh)
            for failure in parked:
                await deadletters.park(tx, name, failure)
            await self.record_progress(tx, last, next_offsets)
        applied = len(fresh)
        self.next_offsets.update(next_offsets)
        for failure in parked:
            self.dead_letters += 1
            self.parked_total += 1
            log.error(
                "consumer.dead_letter",
                consumer=name,
                topic=failure.topic,
                partition=failure.part,
                offset=failure.offset,
                source=failure.source,
                subject=failure.subject,
                sequence=failure.sequence,
                event_type=failure.event_type,
                attempts=failure.attempts,
                error=failure.error,
            )
        for stream, sequence in last.items():  # only once committed; met last, kept longest
            self._seen.pop(stream, None)
            self._seen[stream] = sequence
        self._forget()
        for source, position in high.items():
            self.applied[source] = max(self.applied.get(source, 0), position)
        self._wake(last)
        if applied and self.on_applied is not None:
            self.on_applied()
        return applied

    async def take(self, batch: Sequence[Message]) -> int:
        """Apply a batch; if it fails, event by event, parking what keeps failing."""
        try:
            return await self.apply_batch(batch)
        except Superseded:
            raise  # not the events' fault: the runner reloads (run)
        except Exception as exc:
            if await deadletters.store_failing(self.store, exc):
                raise
            if len(batch) == 1:
                return await self._apply_alone(batch[0], exc)
            log.warning(
                "consumer.batch_failed",
                consumer=self.projection.name,
                events=len(batch),
                error=deadletters.error_text(exc),
            )
        applied = 0
        for msg in batch:
            applied += await self._apply_alone(msg, None)
        return applied

    async def _apply_alone(self, msg: Message, failed: BaseException | None) -> int:
        """One event in its own transaction, tried ``attempts`` times (``failed``: the first
        try already failed so), then parked. A store that is down raises instead."""
        delay = self.retry_first
        first = deadletters.now() if failed is not None else ""
        error = failed
        tries = 1 if failed is not None else 0
        while tries < self.attempts:
            if error is not None:
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_max)
            try:
                return await self.apply_batch([msg])
            except Superseded:
                raise
            except Exception as exc:
                if await deadletters.store_failing(self.store, exc):
                    raise
                error, tries = exc, tries + 1
                first = first or deadletters.now()
        assert error is not None
        try:
            event: Envelope | None = Envelope.from_bytes(msg.value)
        except ValueError:
            event = None
        await self.apply_batch([msg], park=_failure(msg, event, error, tries, first))
        return 0

    async def serve_retries(self) -> int:
        """Apply the dead letters an operator asked to retry (``lk ops dead-letters retry``)
        through the projection: removed on success, parked again with the new error on
        failure. Looks only while this consumer has open letters, every ``RETRY_CHECK`` s."""
        if not self.dead_letters or time.monotonic() - self._retry_checked < RETRY_CHECK:
            return 0
        self._retry_checked = time.monotonic()
        name = self.projection.name
        open_ = await deadletters.open_letters(self.store, name)
        done = 0
        for row in open_:
            if row["status"] != deadletters.RETRY or not self.owns(int(row["part"])):
                continue  # a letter of a partition another replica applies is retried there
            letter_id = int(row["id"])
            try:
                async with self.store.transaction() as tx:
                    taken = await deadletters.take_for_retry(tx, name, letter_id)
                    if taken is None:
                        continue  # skipped meanwhile, or another replica took it
                    event = Envelope.from_bytes(bytes(taken["envelope"]))
                    await self.check_generation(tx)
                    await self.projection.handle_many(tx, [event])
            except Superseded:
                raise
            except Exception as exc:
                if await deadletters.store_failing(self.store, exc):
                    raise
                await deadletters.failed_again(self.store, letter_id, exc)
                log.error("consumer.dead_letter_retry_failed", consumer=name, id=letter_id, error=str(exc))
                continue
            done += 1
            log.warning("consumer.dead_letter_retried", consumer=name, id=letter_id)
        self.dead_letters = len(open_) - done
        if done and self.on_applied is not None:
            self.on_applied()
        return done

    def has_seen(self, source: str, subject: str, sequence: int) -> bool:
        return self._seen.get((source, subject), 0) >= sequence

    async def wait_for_subject(self, source: str, subject: str, sequence: int, timeout: float = 5.0) -> bool:
        """Read-your-writes, exact on any transport: wait until the aggregate ``subject`` of
        ``source`` has been applied up to its version ``sequence``."""
        if self._set_up:
            await self.recall({(source, subject)})
            self._forget()
        if self.has_seen(source, subject, sequence):
            return True
        stream = (source, subject)
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (sequence, waiter)
        self._waiters.setdefault(stream, []).append(entry)
        try:
            return await self._until(lambda: self.has_seen(source, subject, sequence), timeout, waiter)
        finally:
            waiting = self._waiters.get(stream)
            if waiting is not None:
                with contextlib.suppress(ValueError):
                    waiting.remove(entry)
                if not waiting:
                    del self._waiters[stream]

    async def wait_for(self, source: str, position: int, timeout: float = 5.0) -> bool:
        """Wait until ``source``'s ``position`` is applied. Exact only on a single-partition
        transport (the embedded one); over Kafka use :meth:`wait_for_subject`."""
        return await self._until(lambda: self.applied.get(source, 0) >= position, timeout)

    def _wake(self, last: dict[Stream, int]) -> None:
        """After a batch committed: the waiters of the streams it applied far enough, and
        every wait on the batches."""
        for stream, sequence in last.items():
            for needed, waiter in self._waiters.get(stream, ()):
                if needed <= sequence and not waiter.done():
                    waiter.set_result(None)
        applied, self._batch_applied = self._batch_applied, asyncio.Event()
        applied.set()

    async def _until(
        self, done: Callable[[], bool], timeout: float, waiter: asyncio.Future[None] | None = None
    ) -> bool:
        """Wait for ``done`` — woken by ``waiter`` (its stream applied), or else by every
        applied batch — at most ``timeout`` seconds, and give up as soon as the events cannot
        come (``stalled``). Nothing to lock: the loop runs one of them at a time."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not done():
            left = deadline - loop.time()
            if left <= 0 or self.stalled():
                return False
            if waiter is not None:
                await asyncio.wait({waiter}, timeout=min(left, STALLED_CHECK))
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._batch_applied.wait(), min(left, STALLED_CHECK))
        return True

    def owns(self, partition: int) -> bool:
        """Whether this runner applies the partition ``partition`` (of any of its topics)."""
        return True

    async def run(self) -> None:
        """Consume forever (:meth:`consume_all`)."""
        await self.setup()
        await self.consume_all()

    async def consume_all(self, only: frozenset[int] | None = None) -> None:
        """Consume forever from the stored offsets (``only``: the partitions of those numbers,
        as ``Transport.consume`` takes them). A batch that fails is applied event by event and
        what keeps failing is parked (:meth:`take`); a store or transport that fails makes it
        start again from the stored offsets, with backoff."""
        topics = list(self.projection.topics)
        delay = 0.5
        while True:
            await self.load_generation()
            offsets = await self.load_offsets()
            await self.load_seen()
            log.info(
                "consumer.started",
                consumer=self.projection.name,
                topics=topics,
                partitions=None if only is None else sorted(only),
            )
            try:
                async for batch in self.transport.consume(topics, offsets, only):
                    if batch:
                        await self.take(batch)
                        delay = 0.5
                    await self.serve_retries()
            except asyncio.CancelledError:
                raise
            except Superseded:
                log.info("consumer.reloaded", consumer=self.projection.name)
                self.applied = {}  # of the old tables: waits count again from the new ones
                async with self.store.transaction() as tx:
                    await self.projection.load(tx)
            except Exception:
                log.exception("consumer.failed", consumer=self.projection.name, retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)  # a transport that comes back is read within seconds


def _failure(msg: Message, event: Envelope | None, exc: BaseException, attempts: int, first: str) -> Failure:
    return Failure(
        topic=msg.topic,
        part=msg.partition,
        offset=msg.offset,
        value=msg.value,
        source=event.source if event else source_of(msg.topic),
        subject=event.subject if event else msg.key,
        sequence=event.sequence if event else 0,
        event_type=event.type if event else "",
        error=deadletters.error_text(exc),
        attempts=attempts,
        first_failed_at=first,
        last_failed_at=deadletters.now(),
    )
