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
