"""A projection's partitions split across replicas (shared/leader.py ``PartitionedRunner``):
real Kafka (three partitions) and real PostgreSQL, two "replicas" in one test process, each
with its own lock connection, read store and transport, as two processes have.

One replica alone applies every partition; a second one joins and takes its share, given back
by the first only once it stopped applying it; each event takes effect once (a counter per
stream, so a partition applied by both would count twice); a replica reads what the other one
committed for read-your-writes; the first one dies and the second applies everything."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from shared.consumer import Projection
from shared.events import EmailConfirmedV1, Envelope
from shared.leader import Leader, PartitionedRunner
from shared.readstore import PostgresReadStore, Tx
from shared.transport.kafka import KafkaTransport
from tests.contract.conftest import KAFKA

STREAMS = 30  # per round: enough for every one of the three partitions to get some


class Counted(Projection):
    """How many times each stream's events took effect, and which replica applied it last."""

    name = "contract.counted"
    ddl = (
        "CREATE TABLE IF NOT EXISTS contract_counted (subject TEXT PRIMARY KEY, applied INTEGER NOT NULL,"
        " who TEXT NOT NULL)",
    )

    def __init__(self, topic: str, who: str) -> None:
        self.topics = (topic,)
        self.who = who

    async def handle(self, tx: Tx, event: Envelope) -> None:
        await tx.execute(
            "INSERT INTO contract_counted (subject, applied, who) VALUES ($1, 1, $2)"
            " ON CONFLICT (subject) DO UPDATE SET applied = contract_counted.applied + 1, who = excluded.who",
            event.subject,
            self.who,
        )


@dataclass
class Replica:
    runner: PartitionedRunner
    leader: Leader
    store: PostgresReadStore
    transport: KafkaTransport
    task: asyncio.Task[None]

    async def die(self) -> None:
        """As a killed process: its lock session ends (the server frees its locks), its work stops."""
        await self.leader.close()
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        await self.store.close()
        await self.transport.stop()


@contextlib.asynccontextmanager
async def replicas(dsn: str) -> AsyncIterator[Callable[[str, str], Awaitable[Replica]]]:
    started: list[Replica] = []

    async def start(who: str, topic: str) -> Replica:
        store = PostgresReadStore(dsn)
        await store.open()
        transport = KafkaTransport(KAFKA, partitions=3)
        await transport.start()
        leader = Leader(dsn, retry=0.2, group="contract")
        runner = PartitionedRunner(Counted(topic, who), transport, store, leader, spread=True)
        replica = Replica(runner, leader, store, transport, asyncio.create_task(runner.run()))
        started.append(replica)
        return replica

    try:
        yield start
    finally:
        for replica in started:
            if not replica.task.done():
                await replica.die()


def record(subject: str, sequence: int) -> tuple[str, bytes]:
    event = EmailConfirmedV1(account_id=subject, email="a@example.ru").envelope(
        source="identity", subject=subject, sequence=sequence, position=sequence
    )
    return subject, event.to_bytes()


async def until(done: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"not in {timeout} s: {what}"
        await asyncio.sleep(0.05)


async def counts(store: PostgresReadStore) -> dict[str, tuple[int, str]]:
    rows = await store.fetch("SELECT subject, applied, who FROM contract_counted")
    return {r["subject"]: (int(r["applied"]), str(r["who"])) for r in rows}


async def publish_round(transport: KafkaTransport, topic: str) -> list[str]:
    subjects = [str(uuid.uuid4()) for _ in range(STREAMS)]
    await transport.publish(topic, [record(s, n) for s in subjects for n in (1, 2)])
    return subjects


async def all_applied(store: PostgresReadStore, subjects: list[str], what: str) -> dict[str, tuple[int, str]]:
    deadline = time.monotonic() + 60
    while True:
        found = await counts(store)
        if all(found.get(s, (0, ""))[0] >= 2 for s in subjects):
            return found
        assert time.monotonic() < deadline, f"not applied in time: {what}"
        await asyncio.sleep(0.1)


def split(*runners: PartitionedRunner) -> bool:
    owned = [r.owned for r in runners]
    return all(owned) and sum(len(o) for o in owned) == 3 and frozenset().union(*owned) == {0, 1, 2}


async def test_partitions_are_split_handed_over_and_applied_once(dsn: str, prefix: str) -> None:
    topic = f"{prefix}identity.events"
    async with replicas(dsn) as start:
        first = await start("first", topic)
        await until(lambda: first.runner.owned == {0, 1, 2}, "the one replica applies every partition")
        before = await publish_round(first.transport, topic)
        await all_applied(first.store, before, "one replica")

        second = await start("second", topic)
        await until(lambda: split(first.runner, second.runner), "the partitions split between two")
        assert not first.runner.owned & second.runner.owned
        during = await publish_round(first.transport, topic)
        found = await all_applied(first.store, during, "two replicas")
        assert {found[s][1] for s in during} == {"first", "second"}, "each replica applies its share"

        # Read-your-writes of a stream the other replica applies: from what it committed.
        theirs = next(s for s in during if found[s][1] == "first")
        assert not second.runner.has_seen("identity", theirs, 2)
        assert await second.runner.wait_for_subject("identity", theirs, 2, timeout=5)
        assert not await second.runner.wait_for_subject("identity", theirs, 3, timeout=0.5)

        await first.die()
        await until(lambda: second.runner.owned == {0, 1, 2}, "the survivor takes every partition")
        after = await publish_round(second.transport, topic)
        found = await all_applied(second.store, after, "after the first replica died")
        assert {found[s][1] for s in after} == {"second"}

        # Exactly once: no stream counted twice, in any round (rows of the dead replica's last
        # batches included).
        await asyncio.sleep(1.0)
        final = await counts(second.store)
        wrong = {s: final[s][0] for s in (*before, *during, *after) if final[s][0] != 2}
        assert not wrong, f"applied other than once: {wrong}"
