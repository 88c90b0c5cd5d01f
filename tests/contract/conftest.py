"""Contract fixtures: each port runs the same test body against each of its adapters.

Real servers only: Kafka and PostgreSQL from ``bash deploy/infra.sh up``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.readstore import PostgresReadStore, ReadStore, SQLiteReadStore
from shared.transport import Message, Transport
from shared.transport.embedded import EmbeddedTransport
from shared.transport.kafka import KafkaTransport

KAFKA = os.environ.get("LK_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
POSTGRES = os.environ.get("LK_POSTGRES_DSN", "postgresql://lk:lk@127.0.0.1:5432/lk")


async def _delete_topics(prefix: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA, request_timeout_ms=10000)
    await admin.start()
    try:
        mine = [t for t in await admin.list_topics() if t.startswith(prefix)]
        if mine:
            await admin.delete_topics(mine)
    finally:
        await admin.close()


@pytest.fixture
def prefix() -> str:
    """Unique per test: every topic a test uses starts with it."""
    return f"contract-{uuid.uuid4().hex}."


@pytest.fixture
def topic(prefix: str) -> str:
    return f"{prefix}identity.events"


@pytest.fixture(params=["embedded", "kafka"])
async def transport(request: pytest.FixtureRequest, tmp_path: Path, prefix: str) -> AsyncIterator[Transport]:
    bus: Transport
    if request.param == "embedded":
        bus = EmbeddedTransport(tmp_path / "bus.sqlite", poll_interval=0.01)
    else:
        bus = KafkaTransport(KAFKA, partitions=3)
    await bus.start()
    yield bus
    await bus.stop()
    if request.param == "kafka":
        with contextlib.suppress(Exception):  # cleanup only; the topic name is unique anyway
            await _delete_topics(prefix)


async def readable(transport: Transport, topic: str) -> int:
    """How many records of ``topic`` a reader elsewhere can see right now (not via ``transport``)."""
    if isinstance(transport, EmbeddedTransport):
        with contextlib.closing(sqlite3.connect(transport.path)) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM messages WHERE topic = ?", (topic,)).fetchone()[0])
    consumer = AIOKafkaConsumer(bootstrap_servers=KAFKA)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()  # learn this topic's partitions
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        end = await consumer.end_offsets(parts)  # the high watermark: what consumers may read
        begin = await consumer.beginning_offsets(parts)
        return sum(end[tp] - begin[tp] for tp in parts)
    finally:
        await consumer.stop()


@pytest.fixture
def dsn() -> Iterator[str]:
    """The address of a fresh, private PostgreSQL database, dropped after the test."""
    name = f"lk_contract_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(POSTGRES)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ReadStore]:
    """A read store on a fresh, private database."""
    if request.param == "sqlite":
        sqlite = SQLiteReadStore(tmp_path / "read.sqlite")
        await sqlite.open()
        yield sqlite
        await sqlite.close()
        return
    name = f"lk_contract_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    pg = PostgresReadStore(urlunsplit(urlsplit(POSTGRES)._replace(path=f"/{name}")))
    try:
        await pg.open()
        yield pg
    finally:
        await pg.close()
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Reader:
    """Consumes ``topics`` from given offsets, remembering every message and the next offsets."""

    def __init__(self, transport: Transport, topics: Sequence[str], offsets: dict[tuple[str, int], int]):
        self.messages: list[Message] = []
        self.next_offsets = dict(offsets)
        self._batches = transport.consume(topics, offsets)

    async def poll(self) -> list[Message]:
        batch = await anext(self._batches)
        for msg in batch:
            self.next_offsets[(msg.topic, msg.partition)] = msg.offset + 1
        self.messages.extend(batch)
        return batch

    async def until(self, done: Callable[[list[Message]], bool], timeout: float = 30.0) -> list[Message]:
        deadline = time.monotonic() + timeout
        while not done(self.messages) and time.monotonic() < deadline:
            await self.poll()
        return self.messages

    async def idle_for(self, seconds: float) -> list[Message]:
        """Keep polling for ``seconds``; returns what arrived meanwhile."""
        got: list[Message] = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            got.extend(await self.poll())
            await asyncio.sleep(0)
        return got

    async def close(self) -> None:
        await self._batches.aclose()  # type: ignore[attr-defined]
