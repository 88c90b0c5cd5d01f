"""Dead letters (shared/deadletters.py) on a real SQLite read store: a projection that raises
for one chosen event parks it and applies the rest; an operator's retry applies it once the
projection is mended; skip keeps it for the audit; a store that is down parks nothing."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from pathlib import Path

import asyncpg
import pytest
from structlog.testing import capture_logs

from shared import deadletters
from shared.consumer import ConsumerRunner
from shared.readstore import SQLiteReadStore
from shared.transport import Message
from shared.transport.embedded import EmbeddedTransport
from tests.unit.test_consumer import TOPIC, Rows, msg, rows, store

__all__ = ["store"]  # the read-store fixture, shared with test_consumer


class Poisoned(Rows):
    name = "identity.rows"  # a consumer of the identity service: its letters list under it


@pytest.fixture
async def runner(store: SQLiteReadStore, tmp_path: Path) -> ConsumerRunner:
    runner = ConsumerRunner(
        Poisoned(), EmbeddedTransport(tmp_path / "bus.sqlite"), store, attempts=3, retry_first=0.001
    )
    await runner.setup()
    return runner


def poison(runner: ConsumerRunner, subject: str | None) -> None:
    assert isinstance(runner.projection, Rows)
    runner.projection.fail_on = subject


async def test_a_poison_event_is_parked_and_the_rest_applied(
    runner: ConsumerRunner, store: SQLiteReadStore
) -> None:
    a, bad, c = (str(uuid.uuid4()) for _ in range(3))
    poison(runner, bad)
    with capture_logs() as logs:
        applied = await runner.take([msg(a, 1, 0), msg(bad, 1, 1), msg(c, 1, 2)])
    assert applied == 2
    assert await rows(store) == sorted([(a, 1), (c, 1)])
    assert await runner.load_offsets() == {(TOPIC, 0): 3}
    assert runner.has_seen("identity", bad, 1)  # its stream moves on: a republish is skipped
    [letter] = await deadletters.letters(store, "identity")
    assert (letter["topic"], letter["part"], letter["offs"], letter["subject"]) == (TOPIC, 0, 1, bad)
    assert (letter["source"], letter["sequence"], letter["status"]) == ("identity", 1, "parked")
    assert letter["event_type"] == "lk.identity.EmailConfirmed.v1"
    assert letter["attempts"] == 3 and "projection failed" in letter["error"]
    assert letter["first_failed_at"] <= letter["last_failed_at"]
    assert runner.dead_letters == 1 and runner.parked_total == 1
    alerts = [e for e in logs if e["event"] == "consumer.dead_letter"]
    assert len(alerts) == 1 and alerts[0]["log_level"] == "error" and alerts[0]["subject"] == bad
    # Later events of the projection go on, the poisoned stream's included.
    poison(runner, None)
    assert await runner.take([msg(bad, 2, 3), msg(a, 2, 4)]) == 2
    assert (bad, 1) not in await rows(store)
    assert await deadletters.letters(store, "applications") == []  # another service's list


async def test_a_retry_after_the_fix_applies_it_and_removes_it(
    runner: ConsumerRunner, store: SQLiteReadStore
) -> None:
    bad = str(uuid.uuid4())
    poison(runner, bad)
    await runner.take([msg(bad, 1, 0)])
    [letter] = await deadletters.letters(store, "identity")
    assert await runner.serve_retries() == 0  # nobody asked
    # Asked while the projection still fails: parked again, with one more attempt counted.
    assert await deadletters.mark(store, "identity", letter["id"], deadletters.RETRY)
    runner._retry_checked = 0.0
    assert await runner.serve_retries() == 0
    [again] = await deadletters.letters(store, "identity")
    assert again["status"] == "parked" and again["attempts"] == letter["attempts"] + 1
    assert await rows(store) == []
    poison(runner, None)  # the projection is mended
    assert await deadletters.mark(store, "identity", letter["id"], deadletters.RETRY)
    runner._retry_checked = 0.0
    assert await runner.serve_retries() == 1
    assert await rows(store) == [(bad, 1)]
    assert await deadletters.letters(store, "identity", include_skipped=True) == []
    assert runner.dead_letters == 0
    runner._retry_checked = 0.0
    assert await runner.serve_retries() == 0  # nothing open: not even a look


async def test_skip_keeps_the_letter_for_the_audit(runner: ConsumerRunner, store: SQLiteReadStore) -> None:
    bad = str(uuid.uuid4())
    poison(runner, bad)
    await runner.take([msg(bad, 1, 0)])
    [letter] = await deadletters.letters(store, "identity")
    assert await deadletters.mark(store, "identity", letter["id"], deadletters.SKIPPED)
    assert not await deadletters.mark(store, "identity", letter["id"], deadletters.RETRY)  # closed
    assert await deadletters.letters(store, "identity") == []
    [kept] = await deadletters.letters(store, "identity", include_skipped=True)
    assert kept["status"] == "skipped" and kept["resolved_at"]
    runner._retry_checked = 0.0
    await runner.serve_retries()
    assert runner.dead_letters == 0
    assert await rows(store) == []


async def test_an_undecodable_record_is_parked_at_once(
    runner: ConsumerRunner, store: SQLiteReadStore
) -> None:
    assert await runner.take([Message(TOPIC, 0, 0, "k", b"not json")]) == 0
    [letter] = await deadletters.letters(store, "identity")
    assert (letter["offs"], letter["attempts"], letter["event_type"]) == (0, 1, "")
    assert (
        bytes(
            (await store.fetchrow("SELECT envelope FROM lk_dead_letters WHERE id = $1", letter["id"]) or {})[
                "envelope"
            ]
        )
        == b"not json"
    )


async def test_a_store_that_is_down_parks_nothing(runner: ConsumerRunner, store: SQLiteReadStore) -> None:
    """The projection fails because the store fails: the batch raises (the runner starts again
    from its offsets), nothing is parked, nothing is skipped."""
    a = str(uuid.uuid4())

    async def down() -> None:
        raise OSError("connection lost")

    store.ping = down  # type: ignore[method-assign]
    poison(runner, a)
    with pytest.raises(RuntimeError):
        await runner.take([msg(a, 1, 0)])
    del store.ping
    assert await deadletters.letters(store, "identity") == []
    assert await runner.load_offsets() == {}


async def test_run_parks_and_goes_on(store: SQLiteReadStore, tmp_path: Path) -> None:
    """Through the transport: the runner's loop parks the poison event and applies the next."""
    bus = EmbeddedTransport(tmp_path / "bus.sqlite", poll_interval=0.01)
    await bus.start()
    bad, good = str(uuid.uuid4()), str(uuid.uuid4())
    projection = Poisoned()
    projection.fail_on = bad
    runner = ConsumerRunner(projection, bus, store, attempts=2, retry_first=0.001)
    task = asyncio.create_task(runner.run())
    try:
        await bus.publish(TOPIC, [(bad, msg(bad, 1, 0, position=1).value)])
        await bus.publish(TOPIC, [(good, msg(good, 1, 1, position=2).value)])
        assert await runner.wait_for_subject("identity", good, 1, timeout=10)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await bus.stop()
    assert await rows(store) == [(good, 1)]
    assert [r["subject"] for r in await deadletters.letters(store, "identity")] == [bad]


def test_lag_per_partition_counts_a_partition_never_read_from_zero() -> None:
    from shared.lag import RelayBacklog, consumer_lags

    ends = {("a", 0): 10, ("a", 1): 4, ("b", 0): 7}
    rows = consumer_lags("s", "s.view", ["a"], {("a", 0): 8}, ends)
    assert [(r.topic, r.partition, r.lag) for r in rows] == [("a", 0, 2), ("a", 1, 4)]
    assert RelayBacklog("s", 12, 9).backlog == 3


@pytest.mark.parametrize(
    "error",
    [
        TimeoutError(),
        OSError("connection reset"),
        asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout"),
        asyncpg.exceptions.DeadlockDetectedError("deadlock detected"),
        sqlite3.OperationalError("database is locked"),
    ],
)
async def test_the_store_failing_is_never_the_events_fault(store: SQLiteReadStore, error: Exception) -> None:
    assert await deadletters.store_failing(store, error)


async def test_a_bad_event_is_its_own_fault_while_the_store_answers(store: SQLiteReadStore) -> None:
    assert not await deadletters.store_failing(store, ValueError("no such field"))
    assert not await deadletters.store_failing(store, sqlite3.IntegrityError("UNIQUE constraint failed"))
