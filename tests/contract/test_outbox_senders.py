"""Several senders drain one mail outbox on PostgreSQL (one per notifier replica): each row is
held while it is sent (``FOR UPDATE SKIP LOCKED``), so no e-mail goes twice, and a sender that
dies holding a row lets it go to another. Real PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from services.notifier.mailer import FakeMailer, Mail, Pending
from services.notifier.outbox import OUTBOX_DDL, Sender, enqueue
from shared.readstore import PostgresReadStore


@dataclass
class SlowMailer(FakeMailer):
    """Takes a moment per message (so that senders overlap); ``stuck`` never finishes."""

    delay: float = 0.005
    stuck: bool = False
    connections: int = 3

    async def begin(self, mail: Mail) -> Pending:
        await asyncio.sleep(self.delay)
        pending = await super().begin(mail)
        if self.stuck:
            return _Stuck()
        return pending


class _Stuck(Pending):
    async def finish(self) -> None:
        await asyncio.Event().wait()


@pytest.fixture
async def stores(dsn: str) -> AsyncIterator[list[PostgresReadStore]]:
    """Two replicas' read stores of the notifier (its schema), the outbox in it."""
    found = [PostgresReadStore(dsn, service="notifier", max_size=5) for _ in range(2)]
    for store in found:
        await store.open()
    await found[0].migrate(OUTBOX_DDL)
    yield found
    for store in found:
        await store.close()


async def fill(store: PostgresReadStore, count: int) -> list[str]:
    keys = [str(uuid.uuid4()) for _ in range(count)]
    async with store.transaction() as tx:
        for key in keys:
            await enqueue(tx, key, "lk.test", f"{key}@example.ru", "Тема", "текст", "<p>текст</p>")
    return keys


async def drain(sender: Sender, until: asyncio.Event) -> None:
    while not until.is_set():
        if not await sender.send_due():
            await asyncio.sleep(0.01)


async def test_two_senders_send_each_mail_once(stores: list[PostgresReadStore]) -> None:
    keys = await fill(stores[0], 60)
    mailers = [SlowMailer(), SlowMailer()]
    senders = [Sender(store, mailer) for store, mailer in zip(stores, mailers, strict=True)]
    assert all(s.shared for s in senders)
    done = asyncio.Event()
    tasks = [asyncio.create_task(drain(s, done)) for s in senders]
    try:
        for _ in range(1000):
            left = await stores[0].fetchval("SELECT COUNT(*) FROM notifier_outbox WHERE status = 'pending'")
            if left == 0:
                break
            await asyncio.sleep(0.02)
    finally:
        done.set()
        await asyncio.gather(*tasks)
    sent = [m.message_id for mailer in mailers for m in mailer.sent]
    assert sorted(sent) == sorted(f"<{k}@lk-tp.local>" for k in keys)  # each once, none lost
    assert all(mailer.sent for mailer in mailers), "both senders took part"
    assert sum(s.skipped for s in senders) > 0  # they met on rows, and one stood aside


async def test_a_sender_that_dies_holding_a_row_lets_another_send_it(stores: list[PostgresReadStore]) -> None:
    [key] = await fill(stores[0], 1)
    dying = Sender(stores[0], SlowMailer(stuck=True))
    task = asyncio.create_task(dying.send_due())
    for _ in range(500):  # it holds the row: the server was told of it, the content hangs
        if dying._accepting.locked():
            break
        await asyncio.sleep(0.01)
    assert dying._accepting.locked()
    other_mailer = SlowMailer()
    other = Sender(stores[1], other_mailer)
    assert await other.send_due() == 0 and other.skipped == 1  # held by the first: not sent twice
    # The first one's process dies: its session ends, the row is pending again.
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await stores[0].close()
    for _ in range(200):
        if await other.send_due():
            break
        await asyncio.sleep(0.05)
    assert [m.message_id for m in other_mailer.sent] == [f"<{key}@lk-tp.local>"]
    await stores[0].open()  # the fixture closes it again
