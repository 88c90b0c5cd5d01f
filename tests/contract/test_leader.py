"""Leadership by a PostgreSQL advisory lock (shared/leader.py): one replica runs the work, a
follower asks about once a second and takes over when the leader's session ends; without a
database the one process leads. Real PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import asyncpg
import psycopg
import pytest

from shared.leader import Leader

NAME = "relay:identity"


class Work:
    """Runs until cancelled, counting who runs it."""

    def __init__(self) -> None:
        self.running: set[str] = set()
        self.runs: list[str] = []

    def of(self, who: str, fail: bool = False):  # type: ignore[no-untyped-def]
        async def run() -> None:
            self.running.add(who)
            self.runs.append(who)
            try:
                if fail:
                    raise RuntimeError("broken work")
                await asyncio.Event().wait()
            finally:
                self.running.discard(who)

        return run


async def until(done, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "not in time"
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def holding(leader: Leader, work) -> AsyncIterator[asyncio.Task[None]]:  # type: ignore[no-untyped-def]
    task = asyncio.create_task(leader.hold(NAME, work))
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, RuntimeError):
            await task
        await leader.close()


def lock_holders(dsn: str) -> list[int]:
    """The sessions holding an advisory lock in this (fresh) database: only the leader's."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ).fetchall()
    return [r[0] for r in rows]


async def test_one_leads_the_other_takes_over_when_its_session_ends(dsn: str) -> None:
    work = Work()
    first, second = Leader(dsn, retry=0.2), Leader(dsn, retry=0.2)
    async with holding(first, work.of("first")):
        await until(lambda: "first" in work.running)
        async with holding(second, work.of("second")):
            await asyncio.sleep(1.0)  # several attempts of the follower
            assert work.running == {"first"} and first.leads(NAME) and not second.leads(NAME)
            # The leader's session ends (its process died): the server releases the lock.
            [pid] = lock_holders(dsn)
            conn = await asyncpg.connect(dsn)
            try:
                await conn.execute("SELECT pg_terminate_backend($1)", pid)
            finally:
                await conn.close()
            await until(lambda: "second" in work.running)
            await until(lambda: "first" not in work.running)  # it saw its connection go
            assert second.leads(NAME) and second.terms[NAME] == 1
            # The old leader comes back as a follower, not a second leader.
            await asyncio.sleep(1.0)
            assert work.running == {"second"} and not first.leads(NAME)


async def test_a_follower_asks_about_once_a_second(dsn: str) -> None:
    work = Work()
    first, second = Leader(dsn), Leader(dsn)
    async with holding(first, work.of("first")):
        await until(lambda: "first" in work.running)
        async with holding(second, work.of("second")):
            await until(lambda: second.statements >= 1)
            before, started = second.statements, time.monotonic()
            await asyncio.sleep(3.0)
            rate = (second.statements - before) / (time.monotonic() - started)
            leader_rate = first.statements / 3.0
    assert 0.5 <= rate <= 1.2, rate  # it does ask (the lock would never pass) but not more
    assert leader_rate <= 0.7, leader_rate  # the leader only looks at its connection


async def test_failing_work_gives_the_lock_back(dsn: str) -> None:
    work = Work()
    broken, other = Leader(dsn, retry=0.2), Leader(dsn, retry=0.2)
    with pytest.raises(RuntimeError, match="broken work"):
        await broken.hold(NAME, work.of("broken", fail=True))
    async with holding(other, work.of("other")):
        await until(lambda: "other" in work.running)
    await broken.close()


async def test_without_a_database_the_process_leads() -> None:
    work = Work()
    leader = Leader(None)
    async with holding(leader, work.of("alone")):
        await until(lambda: "alone" in work.running)
        assert leader.leads(NAME) and leader.leading == [NAME] and leader.statements == 0
