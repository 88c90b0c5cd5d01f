"""shared/consumer.py ConsumerRunner on a real SQLite read store: dedupe, offsets, rollback."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shared.consumer import ConsumerRunner, Projection
from shared.events import EmailConfirmedV1, Envelope
from shared.readstore import SQLiteReadStore, Tx
from shared.transport import Message
from shared.transport.embedded import EmbeddedTransport

TOPIC = "unit.identity.events"


class Rows(Projection):
    """Writes one row per applied event; raises for the subject it is told to fail on."""

    name = "test.rows"
    topics: tuple[str, ...] = (TOPIC,)
    ddl = ("CREATE TABLE IF NOT EXISTS test_rows (subject TEXT NOT NULL, sequence INTEGER NOT NULL)",)

    def __init__(self) -> None:
        self.fail_on: str | None = None

    async def handle(self, tx: Tx, event: Envelope) -> None:
        await tx.execute(
            "INSERT INTO test_rows (subject, sequence) VALUES ($1, $2)", event.subject, event.sequence
        )
        if event.subject == self.fail_on:
            raise RuntimeError("projection failed")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteReadStore]:
    store = SQLiteReadStore(tmp_path / "read.sqlite")
    await store.open()
    yield store
    await store.close()


@pytest.fixture
async def runner(store: SQLiteReadStore, tmp_path: Path) -> ConsumerRunner:
    runner = ConsumerRunner(Rows(), EmbeddedTransport(tmp_path / "bus.sqlite"), store)
    await runner.setup()
    return runner


def msg(
    subject: str,
    sequence: int,
    offset: int,
    position: int = 0,
    part: int = 0,
    topic: str = TOPIC,
    source: str = "identity",
) -> Message:
    event = EmailConfirmedV1(account_id=subject, email="a@example.ru").envelope(
        source=source, subject=subject, sequence=sequence, position=position or offset + 1
    )
    return Message(topic, part, offset, subject, event.to_bytes())


async def rows(store: SQLiteReadStore) -> list[tuple[str, int]]:
    got = await store.fetch("SELECT subject, sequence FROM test_rows ORDER BY subject, sequence")
    return [(r["subject"], r["sequence"]) for r in got]


async def test_redelivered_envelope_is_applied_once(runner: ConsumerRunner, store: SQLiteReadStore) -> None:
    a = str(uuid.uuid4())
    assert await runner.apply_batch([msg(a, 1, 0)]) == 1
    assert await runner.apply_batch([msg(a, 1, 0)]) == 0
    assert await runner.apply_batch([msg(a, 1, 7)]) == 0  # republished at a new offset
    assert await rows(store) == [(a, 1)]


async def test_higher_sequence_is_applied_lower_is_not(
    runner: ConsumerRunner, store: SQLiteReadStore
) -> None:
    a = str(uuid.uuid4())
    assert await runner.apply_batch([msg(a, 1, 0), msg(a, 3, 1)]) == 2
    assert await runner.apply_batch([msg(a, 2, 2), msg(a, 3, 3), msg(a, 4, 4)]) == 1
    assert await rows(store) == [(a, 1), (a, 3), (a, 4)]


async def test_next_offsets_are_stored_per_topic_and_partition(runner: ConsumerRunner) -> None:
    assert await runner.load_offsets() == {}
    await runner.apply_batch(
        [
            msg(str(uuid.uuid4()), 1, 4, part=0),
            msg(str(uuid.uuid4()), 1, 9, part=1),
            msg(str(uuid.uuid4()), 1, 10, part=1),
            msg(str(uuid.uuid4()), 1, 0, topic="other.events"),
        ]
    )
    assert await runner.load_offsets() == {(TOPIC, 0): 5, (TOPIC, 1): 11, ("other.events", 0): 1}
    await runner.apply_batch([msg(str(uuid.uuid4()), 1, 5, part=0)])
    assert await runner.load_offsets() == {(TOPIC, 0): 6, (TOPIC, 1): 11, ("other.events", 0): 1}


async def test_undecodable_record_is_skipped_but_its_offset_advances(runner: ConsumerRunner) -> None:
    assert await runner.apply_batch([Message(TOPIC, 0, 0, "k", b"not json")]) == 0
    assert await runner.load_offsets() == {(TOPIC, 0): 1}


async def test_failing_projection_rolls_back_rows_and_offsets(
    runner: ConsumerRunner, store: SQLiteReadStore
) -> None:
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    await runner.apply_batch([msg(a, 1, 0)])
    assert isinstance(runner.projection, Rows)
    runner.projection.fail_on = b
    batch = [msg(a, 2, 1), msg(b, 1, 2)]
    with pytest.raises(RuntimeError):
        await runner.apply_batch(batch)
    assert await rows(store) == [(a, 1)]
    assert await runner.load_offsets() == {(TOPIC, 0): 1}
    # Nothing was marked seen either: once the projection works, the batch applies whole.
    runner.projection.fail_on = None
    assert await runner.apply_batch(batch) == 2
    assert await rows(store) == sorted([(a, 1), (a, 2), (b, 1)])
    assert await runner.load_offsets() == {(TOPIC, 0): 3}


async def test_wait_for_position(runner: ConsumerRunner) -> None:
    assert await runner.wait_for("identity", 5, timeout=0.05) is False
    waiter = asyncio.create_task(runner.wait_for("identity", 5, timeout=5))
    await asyncio.sleep(0.01)
    await runner.apply_batch([msg(str(uuid.uuid4()), 1, 0, position=4)])
    await asyncio.sleep(0.01)
    assert not waiter.done()
    await runner.apply_batch([msg(str(uuid.uuid4()), 1, 1, position=5)])
    assert await waiter is True
    assert await runner.wait_for("identity", 5, timeout=0.05) is True
    assert await runner.wait_for("other-source", 1, timeout=0.05) is False


async def test_wait_for_subject_is_exact_per_aggregate(runner: ConsumerRunner) -> None:
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    waiter = asyncio.create_task(runner.wait_for_subject("identity", a, 2, timeout=5))
    # A later position of another aggregate (another partition) must not release the wait.
    await runner.apply_batch([msg(a, 1, 0, position=1), msg(b, 1, 1, position=9)])
    await asyncio.sleep(0.01)
    assert not waiter.done()
    await runner.apply_batch([msg(a, 2, 2, position=2)])
    assert await waiter is True
    assert runner.has_seen("identity", a, 2) and not runner.has_seen("identity", b, 2)
    assert not runner.has_seen("chat", a, 1)  # the same id in another service is another stream
    assert await runner.wait_for_subject("identity", b, 2, timeout=0.05) is False


async def test_on_applied_is_called_only_when_something_took_effect(
    store: SQLiteReadStore, tmp_path: Path
) -> None:
    calls: list[int] = []
    runner = ConsumerRunner(
        Rows(), EmbeddedTransport(tmp_path / "bus.sqlite"), store, lambda: calls.append(1)
    )
    await runner.setup()
    m = msg(str(uuid.uuid4()), 1, 0)
    await runner.apply_batch([m])
    await runner.apply_batch([m])
    assert calls == [1]


async def test_run_applies_published_events_once_across_a_restart(
    store: SQLiteReadStore, tmp_path: Path
) -> None:
    bus = EmbeddedTransport(tmp_path / "bus.sqlite", poll_interval=0.01)
    await bus.start()
    a, b = str(uuid.uuid4()), str(uuid.uuid4())

    async def run_until(position: int) -> None:
        runner = ConsumerRunner(Rows(), bus, store)
        task = asyncio.create_task(runner.run())
        try:
            assert await runner.wait_for("identity", position, timeout=5)
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    try:
        await bus.publish(TOPIC, [(a, msg(a, 1, 0, position=1).value)])
        await run_until(1)
        await bus.publish(TOPIC, [(b, msg(b, 1, 1, position=2).value)])
        await run_until(2)
    finally:
        await bus.stop()
    assert await rows(store) == sorted([(a, 1), (b, 1)])
    assert await store.fetchval("SELECT next_offset FROM lk_consumer_offsets") == 2


async def test_streams_of_two_services_with_one_id_are_kept_apart(
    runner: ConsumerRunner, store: SQLiteReadStore
) -> None:
    """A chat thread's id is its application's id: after 7 status changes, chat message 2
    is not "already applied" (the bug of the first build)."""
    shared_id = str(uuid.uuid4())
    applications = [msg(shared_id, n, n - 1, source="applications") for n in range(1, 8)]
    assert await runner.apply_batch(applications) == 7
    chat = [msg(shared_id, n, 7 + n, source="chat", topic="chat.events") for n in (1, 2, 3)]
    assert await runner.apply_batch(chat) == 3
    assert await runner.apply_batch(chat) == 0  # a republished batch is still skipped
    assert len(await rows(store)) == 10


async def test_old_per_id_rows_are_migrated_once(store: SQLiteReadStore, tmp_path: Path) -> None:
    """Rows of the old table: kept per stream for a one-topic consumer; a consumer of several
    topics reads them again from the beginning (what was wrongly skipped gets applied)."""
    bus = EmbeddedTransport(tmp_path / "bus.sqlite")
    one = ConsumerRunner(Rows(), bus, store)
    await one.setup()

    class TwoTopics(Rows):
        name = "test.two"
        topics = ("t.applications.events", "t.chat.events")

    two = ConsumerRunner(TwoTopics(), bus, store)
    await two.setup()
    a = str(uuid.uuid4())
    async with store.transaction() as tx:
        for consumer in ("test.rows", "test.two"):
            await tx.execute(
                "INSERT INTO lk_consumer_seen (consumer, subject, sequence) VALUES ($1, $2, 7)", consumer, a
            )
            await tx.execute(
                "INSERT INTO lk_consumer_offsets (consumer, topic, part, next_offset) VALUES ($1, 't', 0, 9)",
                consumer,
            )
    await one.setup()
    await two.setup()
    await one.load_seen()
    await two.load_seen()
    assert one.has_seen("identity", a, 7) and await one.load_offsets() == {("t", 0): 9}
    assert not two.has_seen("applications", a, 1) and await two.load_offsets() == {}
    assert await store.fetchval("SELECT COUNT(*) FROM lk_consumer_seen") == 0
    await two.setup()  # a second start changes nothing
    assert await two.load_offsets() == {}
