"""The event transport port and its factory.

Two adapters pass the same contract tests: :mod:`shared.transport.kafka` (Apache
Kafka through aiokafka) and :mod:`shared.transport.embedded` (a durable log in one
SQLite file, for the embedded default).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass

from shared.settings import Settings


@dataclass(frozen=True)
class Message:
    """One record read from a topic."""

    topic: str
    partition: int
    offset: int
    key: str
    value: bytes


class TransportUnavailable(Exception):
    """The transport could not take or give messages right now; try again later."""


class Transport(ABC):
    """Publish keyed records to topics and read them back from stored offsets.

    ``partition_count``: the partitions a topic is made with. A record's partition follows its
    key (the aggregate id), the same in every topic, so partition ``p`` of every topic holds the
    same aggregates: a chat thread and its application (one id) meet in one partition number.
    """

    partition_count: int = 1

    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def stop(self) -> None: ...

    @abstractmethod
    async def ping(self) -> None:
        """Raises unless the transport answers (for readiness)."""

    @abstractmethod
    async def publish(self, topic: str, records: Sequence[tuple[str, bytes]]) -> None:
        """Publish all records; returns only when every one is durably acknowledged.

        Records with the same key keep their order. Raises TransportUnavailable.
        """

    @abstractmethod
    async def end_offsets(self, topics: Sequence[str]) -> dict[tuple[str, int], int]:
        """The offset the next record of each partition of ``topics`` will get (what a consumer
        that has read everything has as its next offset): ``(topic, partition) -> offset``.
        A topic that does not exist yet has no partitions here (the embedded log: its one
        partition, at 0). Raises TransportUnavailable."""

    @abstractmethod
    def consume(
        self,
        topics: Sequence[str],
        next_offsets: dict[tuple[str, int], int],
        only: Collection[int] | None = None,
    ) -> AsyncIterator[list[Message]]:
        """Yield batches from every partition of ``topics`` (``only``: those whose number modulo
        ``partition_count`` is in it), starting at ``next_offsets``
        (``(topic, partition) -> offset``; missing means from the beginning).
        Yields an empty batch now and then while idle (the embedded log after an empty look,
        Kafka after waiting a second); a caller that stops cancels the iteration."""


def build_transport(settings: Settings) -> Transport:
    """The transport for the configured mode."""
    if settings.embedded:
        from shared.transport.embedded import EmbeddedTransport

        return EmbeddedTransport(
            settings.var_dir / "bus.sqlite", settings.poll_interval, settings.idle_poll_max
        )
    from shared.transport.kafka import KafkaTransport

    return KafkaTransport(settings.kafka_bootstrap, settings.kafka_partitions)
