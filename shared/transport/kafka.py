"""Kafka transport over aiokafka: idempotent producer with acks=all, key = aggregate id.

Consumers do not use consumer groups or Kafka's committed offsets: each consumer keeps
its offsets in its own database, in the same transaction as the rows it writes, and
seeks to them on start (see :mod:`shared.consumer`).

An idle consumer sleeps in the broker's long poll: a fetch with nothing to return is held by
the broker up to ``FETCH_WAIT_MS`` and answered as soon as a record arrives (``fetch_min_bytes``
is 1), and ``getmany`` waits as long for the fetched records. The wait is bounded, not
long: aiokafka sends one fetch at a time to a broker, and a partition whose records were still
waiting for the consumer when that fetch left is not in it, so a record arriving on it meanwhile
waits for the fetch in flight to end (decision record 29).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Collection, Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from shared.transport import Message, Transport, TransportUnavailable

FETCH_WAIT_MS = 1000  # the broker holds an empty fetch this long; a record ends it at once
IDLE_BATCH_MS = 1000  # longest wait of a consumer for its next batch (an empty one then)


class KafkaTransport(Transport):
    def __init__(self, bootstrap: str, partitions: int = 3) -> None:
        self.bootstrap = bootstrap
        self.partitions = partitions
        self.partition_count = partitions
        self._producer: AIOKafkaProducer | None = None
        self._offsets: AIOKafkaConsumer | None = None  # for end_offsets only (no assignment)
        self._known_topics: set[str] = set()

    async def start(self) -> None:
        """Nothing to do up front: connections are made lazily, so a service starts
        (and takes commands) while Kafka is down."""

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
        if self._offsets is not None:
            await self._offsets.stop()
            self._offsets = None

    async def ping(self) -> None:
        """A metadata request to the cluster (a fresh client each time: cheap, rare)."""
        client = AIOKafkaClient(bootstrap_servers=self.bootstrap, request_timeout_ms=2000)
        try:
            await client.bootstrap()
        finally:
            await client.close()

    async def _ensure_topic(self, topic: str) -> None:
        if topic in self._known_topics:
            return
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=10000)
        await admin.start()
        try:
            existing = await admin.list_topics()
            if topic not in existing:
                with contextlib.suppress(TopicAlreadyExistsError):
                    await admin.create_topics(
                        [NewTopic(topic, num_partitions=self.partitions, replication_factor=1)]
                    )
        finally:
            await admin.close()
        self._known_topics.add(topic)

    async def _get_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = AIOKafkaProducer(
                bootstrap_servers=self.bootstrap,
                enable_idempotence=True,
                acks="all",
                linger_ms=2,
                request_timeout_ms=10000,
                max_batch_size=1024 * 1024,
            )
            try:
                await producer.start()
            except BaseException:
                await producer.stop()
                raise
            self._producer = producer
        return self._producer

    async def publish(self, topic: str, records: Sequence[tuple[str, bytes]]) -> None:
        if not records:
            return
        try:
            await self._ensure_topic(topic)
            producer = await self._get_producer()
            futures = [await producer.send(topic, value, key=key.encode()) for key, value in records]
            await asyncio.gather(*futures)
        except (KafkaError, OSError, TimeoutError) as exc:
            # Drop the producer: a fresh one after an outage avoids stale metadata.
            if self._producer is not None:
                producer, self._producer = self._producer, None
                # Already failing: the original cause is what gets reported.
                with contextlib.suppress(Exception):
                    await producer.stop()
            raise TransportUnavailable(f"{type(exc).__name__}: {exc}") from exc

    async def end_offsets(self, topics: Sequence[str]) -> dict[tuple[str, int], int]:
        """The high watermarks (what a consumer may read) of every partition of ``topics``,
        asked with one client kept for it (``/metrics`` asks at every scrape)."""
        try:
            client = await self._offsets_client()
            await client._client.force_metadata_update()
            parts = [
                TopicPartition(topic, p)
                for topic in dict.fromkeys(topics)
                for p in sorted(client.partitions_for_topic(topic) or ())
            ]
            if not parts:
                return {}
            ends = await client.end_offsets(parts)
        except (KafkaError, OSError, TimeoutError) as exc:
            if self._offsets is not None:
                stale, self._offsets = self._offsets, None
                with contextlib.suppress(Exception):  # already failing: report the cause
                    await stale.stop()
            raise TransportUnavailable(f"{type(exc).__name__}: {exc}") from exc
        return {(tp.topic, tp.partition): int(end) for tp, end in ends.items()}

    async def _offsets_client(self) -> AIOKafkaConsumer:
        if self._offsets is None:
            client = AIOKafkaConsumer(
                bootstrap_servers=self.bootstrap,
                group_id=None,
                enable_auto_commit=False,
                request_timeout_ms=5000,
            )
            try:
                await client.start()
            except BaseException:
                await client.stop()
                raise
            self._offsets = client
        return self._offsets

    async def consume(
        self,
        topics: Sequence[str],
        next_offsets: dict[tuple[str, int], int],
        only: Collection[int] | None = None,
    ) -> AsyncIterator[list[Message]]:
        while True:
            try:
                for topic in topics:
                    await self._ensure_topic(topic)
                break
            except (KafkaError, OSError, TimeoutError):
                yield []
                await asyncio.sleep(1.0)
        if only is not None and not set(only) & set(range(self.partition_count)):
            while True:  # none of its partitions: only the idle beat
                yield []
                await asyncio.sleep(IDLE_BATCH_MS / 1000)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=FETCH_WAIT_MS,
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        await consumer.start()
        try:
            assignment: list[TopicPartition] = []
            for topic in topics:
                parts = consumer.partitions_for_topic(topic)
                while not parts:
                    await consumer._client.force_metadata_update()
                    parts = consumer.partitions_for_topic(topic)
                assignment.extend(
                    TopicPartition(topic, p)
                    for p in sorted(parts)
                    if only is None or p % self.partition_count in only
                )
            consumer.assign(assignment)
            for tp in assignment:
                offset = next_offsets.get((tp.topic, tp.partition))
                if offset is None:
                    await consumer.seek_to_beginning(tp)
                else:
                    consumer.seek(tp, offset)
            while True:
                got = await consumer.getmany(timeout_ms=IDLE_BATCH_MS, max_records=2000)
                batch = [
                    Message(tp.topic, tp.partition, rec.offset, (rec.key or b"").decode(), rec.value)
                    for tp, records in got.items()
                    for rec in records
                ]
                yield batch
        finally:
            await consumer.stop()
