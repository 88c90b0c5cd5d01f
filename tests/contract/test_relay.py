"""The outbox relay over both transports, with a real IdentityApp (SQLite event store)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from services.identity.app import IdentityApp
from services.identity.domain import Account
from services.identity.public import make_mapper
from shared.events import AccountRegisteredV1, EmailConfirmedV1, Envelope
from shared.readstore import ReadStore, SQLiteReadStore
from shared.relay import RELAY_DDL, Relay
from shared.settings import Settings
from shared.transport import Message, Transport
from tests.contract.conftest import Reader, readable

PASSWORD = "Корова-на-луне-2026!"


@pytest.fixture
def identity(tmp_path: Path) -> Iterator[IdentityApp]:
    app = IdentityApp(Settings(mode="embedded", secret_key="x" * 32, var_dir=tmp_path / "var"))
    yield app
    app.close()


@pytest.fixture
async def positions(tmp_path: Path) -> AsyncIterator[SQLiteReadStore]:
    store = SQLiteReadStore(tmp_path / "identity-read.sqlite")
    await store.open()
    await store.migrate(RELAY_DDL)
    yield store
    await store.close()


def relay(
    identity: IdentityApp,
    transport: Transport,
    topic: str,
    store: ReadStore,
    idle_poll_max: float = 1.0,
    **more: Any,
) -> Relay:
    return Relay(
        name="identity",
        app=identity,
        mapper=make_mapper(identity),
        transport=transport,
        topic=topic,
        store=store,
        poll_interval=0.01,
        idle_poll_max=idle_poll_max,
        **more,
    )


def register(identity: IdentityApp) -> Account:
    login = f"user_{uuid.uuid4().hex[:10]}"
    return identity.register(
        login=login, email=f"{login}@example.ru", password=PASSWORD, account_type="consumer"
    )


async def read_all(transport: Transport, topic: str, count: int) -> list[Message]:
    """Every record of ``topic`` (waits for ``count``, then a little longer for extras)."""
    reader = Reader(transport, [topic], {})
    try:
        got = await reader.until(lambda ms: len(ms) >= count)
        return got + await reader.idle_for(0.5)
    finally:
        await reader.close()


def last_position(identity: IdentityApp) -> int:
    found = identity.recorder.max_notification_id()
    assert found is not None
    return found


def registrations(messages: list[Message]) -> list[Envelope]:
    envelopes = [Envelope.from_bytes(m.value) for m in messages]
    return [e for e in envelopes if e.type == AccountRegisteredV1.TYPE]


async def test_relay_publishes_account_registered_once(
    identity: IdentityApp, transport: Transport, topic: str, positions: SQLiteReadStore
) -> None:
    decoy = register(identity)  # so that log positions and per-account sequences differ
    account = register(identity)
    registered_at = last_position(identity) - 1  # then its EmailOwner.Reserved
    relay_ = relay(identity, transport, topic, positions)

    assert await relay_.publish_pending() == 4  # Account.Registered and EmailOwner.Reserved, twice
    assert relay_.position == registered_at + 1
    messages = await read_all(transport, topic, 2)
    assert len(messages) == 2  # the e-mail index stays internal
    envelope = next(e for e in registrations(messages) if e.subject == str(account.id))
    assert {m.key for m in messages} == {str(decoy.id), str(account.id)}
    assert (envelope.source, envelope.sequence, envelope.position) == ("identity", 1, registered_at)
    assert envelope.id == Envelope.event_id("identity", str(account.id), 1)
    payload = envelope.parse()
    assert isinstance(payload, AccountRegisteredV1)
    assert (payload.account_id, payload.login, payload.account_type) == (
        str(account.id),
        account.login,
        "consumer",
    )
    identity.confirm_email(payload.confirmation_token)  # the relayed link works

    assert await relay_.publish_pending() == 1  # only the new EmailConfirmed event
    assert await relay_.publish_pending() == 0
    assert await readable(transport, topic) == 3
    everything = [Envelope.from_bytes(m.value) for m in await read_all(transport, topic, 3)]
    (confirmed,) = [e for e in everything if e.type == EmailConfirmedV1.TYPE]
    assert (confirmed.subject, confirmed.sequence, confirmed.position) == (str(account.id), 2, 5)
    recorded = await positions.fetchval("SELECT position FROM lk_relay_positions WHERE name = $1", "identity")
    assert recorded == last_position(identity) == 5


async def test_new_relay_resumes_from_the_recorded_position(
    identity: IdentityApp, transport: Transport, topic: str, positions: SQLiteReadStore
) -> None:
    first = register(identity)
    assert await relay(identity, transport, topic, positions).publish_pending() == 2
    assert await readable(transport, topic) == 1

    resumed = relay(identity, transport, topic, positions)
    identity.on_saved = resumed.wake
    task = asyncio.create_task(resumed.run())
    try:
        second = register(identity)
        target = last_position(identity)
        for _ in range(750):  # up to 15 s
            if resumed.position >= target:
                break
            await asyncio.sleep(0.02)
        assert resumed.position == target
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    subjects = [e.subject for e in registrations(await read_all(transport, topic, 2))]
    assert sorted(subjects) == sorted([str(first.id), str(second.id)])  # the first not republished


@pytest.mark.parametrize("wake", ["wake", "wake_soon"])
async def test_an_idle_relay_publishes_when_woken_not_at_its_next_idle_poll(
    identity: IdentityApp, transport: Transport, topic: str, positions: SQLiteReadStore, wake: str
) -> None:
    """Idle, the relay would next look in a minute (its backoff's ceiling); a commit's wake
    (at once, or within the poll interval for the chat's batches) publishes it now. Without
    the wake this test fails: the reader gives up after 20 s."""
    relay_ = relay(identity, transport, topic, positions, idle_poll_max=60.0)
    relay_.idle.current = 60.0  # as after a long idle stretch
    running = asyncio.create_task(relay_.run())
    try:
        while relay_._loop is None:  # noqa: ASYNC110 - the relay has no started event to wait on
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)  # the relay's first (empty) poll is done: it waits a minute now
        account = register(identity)
        getattr(relay_, wake)()
        messages = await asyncio.wait_for(read_all(transport, topic, 1), 20)
        assert [e.subject for e in registrations(messages)] == [str(account.id)]
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
