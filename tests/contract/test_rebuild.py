"""A rebuild (shared/rebuild.py) on each transport and each read store, with the projection's
own runner consuming all along: the swap keeps every event the runner applied meanwhile,
and the runner goes on from the swapped positions."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable

import pytest

from shared.consumer import ConsumerRunner, Projection
from shared.events import EmailConfirmedV1, Envelope
from shared.readstore import ReadStore, Tx
from shared.rebuild import Rebuild
from shared.transport import Transport


class Rows(Projection):
    """One row per stream, with an index of its own (renamed back after the swap)."""

    name = "contract.rows"
    ddl = (
        "CREATE TABLE IF NOT EXISTS contract_rows (subject TEXT PRIMARY KEY, sequence INTEGER NOT NULL,"
        " applied INTEGER NOT NULL DEFAULT 1)",
        "CREATE INDEX IF NOT EXISTS contract_rows_by_sequence ON contract_rows (sequence)",
    )

    def __init__(self, topic: str) -> None:
        self.topics = (topic,)

    async def handle(self, tx: Tx, event: Envelope) -> None:
        # ``applied`` counts the applications: a row applied twice would show it.
        await tx.execute(
            "INSERT INTO contract_rows (subject, sequence) VALUES ($1, $2) ON CONFLICT (subject)"
            " DO UPDATE SET sequence = excluded.sequence, applied = contract_rows.applied + 1",
            event.subject,
            event.sequence,
        )


def records(count: int) -> list[tuple[str, bytes]]:
    out = []
    for _ in range(count):
        subject = str(uuid.uuid4())
        event = EmailConfirmedV1(account_id=subject, email="a@example.ru").envelope(
            source="identity", subject=subject, sequence=1, position=1
        )
        out.append((subject, event.to_bytes()))
    return out


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_the_swap_keeps_what_the_runner_applied_meanwhile(
    transport: Transport, store: ReadStore, topic: str
) -> None:
    await transport.publish(topic, records(50))
    live = ConsumerRunner(Rows(topic), transport, store)
    await live.setup()
    task = asyncio.create_task(live.run())

    async def rows(n: int) -> bool:
        return int(await store.fetchval("SELECT COUNT(*) FROM contract_rows")) == n

    try:
        await until(lambda: rows(50))
        rebuild = Rebuild(Rows(topic), store, transport)
        await rebuild.build()
        assert int(await store.fetchval("SELECT COUNT(*) FROM contract_rows__rebuild")) == 50

        # Meanwhile the service's runner applies more, to the old tables only.
        await transport.publish(topic, records(20))
        await until(lambda: rows(70))
        await rebuild.finish()  # finds the runner ahead, catches up, swaps
        assert await rows(70)
        assert int(await store.fetchval("SELECT MAX(applied) FROM contract_rows")) == 1

        # The runner reloads from the swapped positions at its next batch: nothing lost, nothing twice.
        await transport.publish(topic, records(5))
        await until(lambda: rows(75))
        assert live.generation == 1
        assert int(await store.fetchval("SELECT MAX(applied) FROM contract_rows")) == 1
        positions = await store.fetch("SELECT DISTINCT consumer FROM lk_consumer_offsets")
        assert [r["consumer"] for r in positions] == ["contract.rows"]
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    # The index has its name back: a second rebuild makes its shadow under the same names.
    again = Rebuild(Rows(topic), store, transport)
    await again.run()
    assert await rows(75)


def record(subject: str, sequence: int) -> tuple[str, bytes]:
    event = EmailConfirmedV1(account_id=subject, email="a@example.ru").envelope(
        source="identity", subject=subject, sequence=sequence, position=sequence
    )
    return subject, event.to_bytes()


async def test_the_swapped_positions_let_the_runner_go_on_without_repeating_or_skipping(
    transport: Transport, store: ReadStore, topic: str
) -> None:
    """The rebuild stores its positions only in the swap, from what it held: after it the
    service's runner neither applies again an event it republished nor skips a new one."""
    again = str(uuid.uuid4())
    await transport.publish(topic, [*records(30), record(again, 1), record(again, 2)])
    live = ConsumerRunner(Rows(topic), transport, store)
    await live.setup()
    task = asyncio.create_task(live.run())

    async def applied_to(subject: str, sequence: int) -> bool:
        row = await store.fetchrow("SELECT sequence FROM contract_rows WHERE subject = $1", subject)
        return row is not None and int(row["sequence"]) == sequence

    try:
        await until(lambda: applied_to(again, 2))
        await Rebuild(Rows(topic), store, transport).run()
        applied = await store.fetch(
            "SELECT subject, sequence FROM lk_consumer_applied WHERE consumer = $1", Rows.name
        )
        assert len(applied) == 31
        assert {int(r["sequence"]) for r in applied if r["subject"] == again} == {2}
        offsets = await store.fetch(
            "SELECT topic, part, next_offset FROM lk_consumer_offsets WHERE consumer = $1", Rows.name
        )
        ends = await transport.end_offsets((topic,))
        assert {(r["topic"], int(r["part"])): int(r["next_offset"]) for r in offsets} == {
            key: end for key, end in ends.items() if end
        }

        # A relay's repeat of the stream's last event, then its next one.
        await transport.publish(topic, [record(again, 2), record(again, 3)])
        await until(lambda: applied_to(again, 3))
        assert live.generation == 1
        row = await store.fetchrow("SELECT applied FROM contract_rows WHERE subject = $1", again)
        assert row is not None and int(row["applied"]) == 3  # 1, 2 and 3, each once
        assert int(await store.fetchval("SELECT SUM(applied) FROM contract_rows")) == 30 + 3
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_projection_writing_a_table_it_does_not_declare_is_refused(
    transport: Transport, store: ReadStore, topic: str
) -> None:
    class Stray(Rows):
        async def handle(self, tx: Tx, event: Envelope) -> None:
            await tx.execute("INSERT INTO contract_other (subject) VALUES ($1)", event.subject)

    await store.migrate(["CREATE TABLE IF NOT EXISTS contract_other (subject TEXT)"])
    await transport.publish(topic, records(1))
    with pytest.raises(RuntimeError, match="does not declare"):
        await Rebuild(Stray(topic), store, transport).run()
    assert int(await store.fetchval("SELECT COUNT(*) FROM contract_other")) == 0


class Picky(Rows):
    """Fails on one subject, as a projection fails on a poison event."""

    def __init__(self, topic: str, poison: str) -> None:
        super().__init__(topic)
        self.poison = poison

    async def handle(self, tx: Tx, event: Envelope) -> None:
        if event.subject == self.poison:
            raise ValueError("poison event")
        await super().handle(tx, event)


async def test_a_poison_event_is_parked_by_the_rebuild_and_its_letter_moves_with_the_swap(
    transport: Transport, store: ReadStore, topic: str
) -> None:
    """A rebuild from offset 0 meets the event the service parked: it parks it too and goes
    on; after the swap the live consumer has one open letter for it, not two, not none."""
    batch = records(30)
    poison = batch[10][0]
    await transport.publish(topic, batch)
    live = ConsumerRunner(Picky(topic, poison), transport, store, attempts=2, retry_first=0.01)
    await live.setup()
    task = asyncio.create_task(live.run())

    async def letters(consumer: str) -> list[str]:
        rows = await store.fetch(
            "SELECT subject FROM lk_dead_letters WHERE consumer = $1 AND status = 'parked'", consumer
        )
        return [str(r["subject"]) for r in rows]

    try:
        await until(lambda: _count(store, 29))
        assert await letters(Rows.name) == [poison]
        rebuild = Rebuild(Picky(topic, poison), store, transport)
        rebuild.runner.attempts, rebuild.runner.retry_first = 2, 0.01
        await rebuild.run()
        assert await letters(Rows.name) == [poison]
        assert await letters(Rows.name + "#rebuild") == []
        assert await _count(store, 29)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _count(store: ReadStore, n: int) -> bool:
    return int(await store.fetchval("SELECT COUNT(*) FROM contract_rows")) == n
