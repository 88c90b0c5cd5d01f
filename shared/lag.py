"""How far behind the platform is: each consumer per partition (the topic's end offset minus
the consumer's stored next offset) and each relay (its event store's last notification id
minus the position the relay recorded). ``lk ops lag`` reads them from the stores; a running
service's ``/metrics`` from its own consumers and relay (shared/metrics.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment

from shared.readstore import ReadStore
from shared.settings import Settings
from shared.topology import CONSUMES, topics

Offsets = Mapping[tuple[str, int], int]


@dataclass(frozen=True)
class ConsumerLag:
    service: str
    consumer: str
    topic: str
    partition: int
    end_offset: int
    next_offset: int

    @property
    def lag(self) -> int:
        return max(0, self.end_offset - self.next_offset)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "lag": self.lag}


@dataclass(frozen=True)
class RelayBacklog:
    service: str
    last_id: int  # the event store's highest notification id
    position: int  # the last one the relay published

    @property
    def backlog(self) -> int:
        return max(0, self.last_id - self.position)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "backlog": self.backlog}


def consumer_lags(
    service: str, consumer: str, topics_read: Iterable[str], next_offsets: Offsets, ends: Offsets
) -> list[ConsumerLag]:
    """One row per partition of the consumer's topics (a partition it never read: from 0)."""
    wanted = set(topics_read)
    keys = sorted({k for k in ends if k[0] in wanted} | {k for k in next_offsets if k[0] in wanted})
    return [
        ConsumerLag(
            service, consumer, topic, part, ends.get((topic, part), 0), next_offsets.get((topic, part), 0)
        )
        for topic, part in keys
    ]


def consumers_of(service: str) -> list[str]:
    """The declared projections a service runs (shared/topology.py)."""
    return [name for name in CONSUMES if name.split(".", 1)[0] == service]


async def stored_lags(settings: Settings, service: str, store: ReadStore, ends: Offsets) -> list[ConsumerLag]:
    """The lag of the service's consumers from the offsets they stored."""
    try:
        rows = await store.fetch(
            "SELECT consumer, topic, part, next_offset FROM lk_consumer_offsets WHERE consumer LIKE $1",
            f"{service}.%",
        )
    except Exception:  # noqa: BLE001 - a service that has not run yet has no table
        rows = []
    stored: dict[str, dict[tuple[str, int], int]] = {}
    for row in rows:
        stored.setdefault(row["consumer"], {})[(row["topic"], int(row["part"]))] = int(row["next_offset"])
    found: list[ConsumerLag] = []
    for consumer in sorted(set(consumers_of(service)) | set(stored)):
        read = topics(consumer, settings) if consumer in CONSUMES else {t for t, _ in stored[consumer]}
        found.extend(consumer_lags(service, consumer, read, stored.get(consumer, {}), ends))
    return found


def every_topic(settings: Settings) -> list[str]:
    return sorted({topic for name in CONSUMES for topic in topics(name, settings)})


def last_notification_id(settings: Settings, service: str) -> int | None:
    """The highest notification id of the service's event store (blocking), None when it has
    none yet (never started: nothing is created here)."""
    env = settings.eventstore_env(service)
    if settings.embedded and not Path(env["SQLITE_DBNAME"]).exists():
        return None
    factory = InfrastructureFactory.construct(Environment(service, {**env, "CREATE_TABLE": "n"}))
    try:
        return int(factory.application_recorder().max_notification_id() or 0)
    except Exception:  # noqa: BLE001 - no table yet: the service never ran
        return None
    finally:
        with contextlib.suppress(Exception):
            factory.close()


async def stored_backlog(settings: Settings, service: str, store: ReadStore) -> RelayBacklog | None:
    last = await asyncio.to_thread(last_notification_id, settings, service)
    if last is None:
        return None
    try:
        position = await store.fetchval("SELECT position FROM lk_relay_positions WHERE name = $1", service)
    except Exception:  # noqa: BLE001 - the relay never ran: nothing published
        position = 0
    return RelayBacklog(service, last, int(position or 0))
