"""The consumer runner on each transport: topics whose aggregates share ids.

A chat thread's id is its application's id. A consumer of both topics must count each
stream's sequence apart: (source service, aggregate id), never a bare id.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from shared.consumer import ConsumerRunner, Projection
from shared.events import EmailConfirmedV1, Envelope
from shared.readstore import SQLiteReadStore, Tx
from shared.transport import Transport


class Applied(Projection):
    """One row per applied event, by stream."""

    name = "contract.applied"
    ddl = (
        "CREATE TABLE IF NOT EXISTS contract_applied (source TEXT NOT NULL, subject TEXT NOT NULL,"
        " sequence INTEGER NOT NULL, PRIMARY KEY (source, subject, sequence))",
    )

    def __init__(self, topics: tuple[str, ...]) -> None:
        self.topics = topics

    async def handle(self, tx: Tx, event: Envelope) -> None:
        await tx.execute(
            "INSERT INTO contract_applied (source, subject, sequence) VALUES ($1, $2, $3)",
            event.source,
            event.subject,
            event.sequence,
        )


def record(source: str, subject: str, sequence: int) -> tuple[str, bytes]:
    event = EmailConfirmedV1(account_id=subject, email="a@example.ru").envelope(
        source=source, subject=subject, sequence=sequence, position=sequence
    )
    return subject, event.to_bytes()


async def test_colliding_ids_of_two_topics_are_all_applied(
    transport: Transport, prefix: str, tmp_path: Path
) -> None:
    applications, chat = f"{prefix}applications.events", f"{prefix}chat.events"
    thread = str(uuid.uuid4())  # the application's id is its chat thread's id
    await transport.publish(applications, [record("applications", thread, n) for n in range(1, 8)])
    await transport.publish(chat, [record("chat", thread, n) for n in (1, 2, 3)])
    # The relay may republish a batch after a crash: the repeats take no effect.
    await transport.publish(chat, [record("chat", thread, n) for n in (2, 3)])
    store = SQLiteReadStore(tmp_path / "read.sqlite")
    await store.open()
    runner = ConsumerRunner(Applied((applications, chat)), transport, store)
    task = asyncio.create_task(runner.run())
    try:
        assert await runner.wait_for_subject("applications", thread, 7, timeout=30)
        assert await runner.wait_for_subject("chat", thread, 3, timeout=30)
        await asyncio.sleep(0.3)  # let the repeats arrive too
        rows = await store.fetch("SELECT source, sequence FROM contract_applied ORDER BY source, sequence")
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await store.close()
    assert [(r["source"], r["sequence"]) for r in rows] == [
        *[("applications", n) for n in range(1, 8)],
        *[("chat", n) for n in (1, 2, 3)],
    ]
