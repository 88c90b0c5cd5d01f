"""The relay on a PostgreSQL event store is woken by the server on commit (LISTEN/NOTIFY),
whichever process committed, and its slow fallback poll still publishes what a lost
notification would have held back. Real PostgreSQL, over both transports."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from services.identity.app import IdentityApp
from shared.leader import Leader
from shared.readstore import PostgresReadStore
from shared.relay import Relay
from shared.settings import Settings
from shared.transport import Transport
from tests.contract.test_relay import read_all, register, registrations, relay

ROOT = Path(__file__).resolve().parents[2]
SECRET = "x" * 32
# Registers one account in the database of argv[1] from a process of its own; prints its id.
OTHER_PROCESS = """
import sys
from services.identity.app import IdentityApp
from shared.settings import Settings
app = IdentityApp(Settings(mode="stack", secret_key=sys.argv[2], postgres_dsn=sys.argv[1]))
account = app.register(login=sys.argv[3], email=sys.argv[3] + "@example.ru",
                       password="Корова-на-луне-2026!", account_type="consumer")
print(account.id)
app.close()
"""


@pytest.fixture
def identity(dsn: str) -> Iterator[IdentityApp]:
    app = IdentityApp(Settings(mode="stack", secret_key=SECRET, postgres_dsn=dsn))
    yield app
    app.close()


@pytest.fixture
async def positions(dsn: str) -> AsyncIterator[PostgresReadStore]:
    store = PostgresReadStore(dsn, service="identity")  # the relay's positions in its own schema
    await store.open()
    yield store
    await store.close()


def listening_relay(
    identity: IdentityApp,
    transport: Transport,
    topic: str,
    store: PostgresReadStore,
    dsn: str,
    fallback: float,
) -> Relay:
    """A relay that, idle, would look again only after ``fallback`` seconds (no in-process
    wake: ``identity.on_saved`` is not wired to it)."""
    found = relay(identity, transport, topic, store, fallback, fallback_poll=fallback, listen_dsn=dsn)
    found.idle.current = fallback  # as after a long idle stretch
    return found


@contextlib.asynccontextmanager
async def running(relay_: Relay) -> AsyncIterator[None]:
    task = asyncio.create_task(relay_.run())
    try:
        for _ in range(1000):  # the relay has no started event: wait for its first look
            if relay_.bell is not None and relay_.bell.listening:
                break
            await asyncio.sleep(0.01)
        assert relay_.bell is not None and relay_.bell.listening
        await asyncio.sleep(0.2)  # its first (empty) look is done: it sleeps for the fallback now
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_commit_of_another_process_wakes_the_relay(
    identity: IdentityApp, transport: Transport, topic: str, positions: PostgresReadStore, dsn: str
) -> None:
    """Idle, the relay would next look in ten minutes; another process's commit rings it (the
    recorder's NOTIFY) and it publishes now. Without LISTEN the reader gives up after 30 s."""
    relay_ = listening_relay(identity, transport, topic, positions, dsn, fallback=600.0)
    async with running(relay_):
        login = f"user_{uuid.uuid4().hex[:10]}"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-c", OTHER_PROCESS, dsn, SECRET, login],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        account_id = done.stdout.strip().splitlines()[-1]
        messages = await asyncio.wait_for(read_all(transport, topic, 1), 30)
    assert [e.subject for e in registrations(messages)] == [account_id]


async def test_a_lost_notification_is_made_good_by_the_fallback_poll(
    identity: IdentityApp, transport: Transport, topic: str, positions: PostgresReadStore, dsn: str
) -> None:
    """The relay listens on a channel nobody notifies (as if the server's notification were
    lost): its fallback poll, one second here, still publishes the commit."""
    relay_ = listening_relay(identity, transport, topic, positions, dsn, fallback=1.0)
    assert relay_.bell is not None
    relay_.bell.channel = "lk_nobody_notifies_this"
    async with running(relay_):
        account = register(identity)
        messages = await asyncio.wait_for(read_all(transport, topic, 1), 30)
    assert [e.subject for e in registrations(messages)] == [str(account.id)]


async def test_one_relay_publishes_and_the_other_takes_over(
    identity: IdentityApp, transport: Transport, topic: str, positions: PostgresReadStore, dsn: str
) -> None:
    """Two replicas' relays of one service: only the leader publishes (each event once); when
    its lock's session ends (the process died), the other one publishes what comes next."""
    leaders = [Leader(dsn, retry=0.2), Leader(dsn, retry=0.2)]
    relays = [
        relay(identity, transport, topic, positions, 0.05, listen_dsn=dsn, leader=leader)
        for leader in leaders
    ]
    tasks = [asyncio.create_task(r.run()) for r in relays]
    try:
        for _ in range(500):
            if any(r.leading for r in relays):
                break
            await asyncio.sleep(0.01)
        assert [r.leading for r in relays].count(True) == 1
        first = next(r for r in relays if r.leading)
        other = next(r for r in relays if not r.leading)
        before = [register(identity) for _ in range(3)]
        messages = await asyncio.wait_for(read_all(transport, topic, 3), 30)
        assert sorted(e.subject for e in registrations(messages)) == sorted(str(a.id) for a in before)
        # The leader's session ends: its locks are released, the other relay leads.
        index = relays.index(first)
        tasks[index].cancel()
        await leaders[index].close()
        for _ in range(500):
            if other.leading:
                break
            await asyncio.sleep(0.01)
        assert other.leading
        after = register(identity)
        messages = await asyncio.wait_for(read_all(transport, topic, 4), 30)
        subjects = [e.subject for e in registrations(messages)]
        assert sorted(subjects) == sorted(str(a.id) for a in [*before, after])  # each once
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for leader in leaders:
            await leader.close()
