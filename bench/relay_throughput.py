"""Relay throughput: a pre-filled event store published to the transport by ``Relay.publish_pending``.

The event store is filled with N ``Account.Registered`` events (500 aggregates per save), then the
relay publishes batch after batch (``settings.batch_size``) until it is caught up. The filled topic
is left for the ``rebuild`` benchmark.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from bench.common import Figure, Infra, Progress, Section, new_account, password_hash, tag
from bench.pipeline import Pipeline
from services.identity.app import IdentityApp
from shared.settings import Settings

EVENTS = 20_000
FILL_BATCH = 500
TARGET_EVENTS_PER_S = {"stack": 5000.0, "embedded": None}
TITLES = {"stack": "PostgreSQL event store → Kafka", "embedded": "SQLite event store → EmbeddedTransport"}


@dataclass(frozen=True)
class FilledTopic:
    """A topic holding ``events`` identity events, left by this benchmark for ``rebuild``."""

    settings: Settings
    events: int


def fill(app: IdentityApp, events: int, label: str) -> float:
    """Save ``events`` new accounts in batches; returns the seconds it took."""
    password_hash()
    progress = Progress(f"{label}: filling the event store", events)
    run = tag()
    start = time.perf_counter()
    for first in range(0, events, FILL_BATCH):
        app.save(*(new_account(run, i) for i in range(first, min(events, first + FILL_BATCH))))
        progress.update(first + FILL_BATCH)
    return time.perf_counter() - start


async def publish_all(pipe: Pipeline, events: int, label: str) -> float:
    """Run ``publish_pending`` until caught up; returns the seconds it took."""
    progress = Progress(f"{label}: publishing", events)
    published = 0
    start = time.perf_counter()
    while count := await pipe.relay.publish_pending():
        published += count
        progress.update(published)
    return time.perf_counter() - start


async def filled_topic(infra: Infra, mode: str, section: Section | None = None) -> FilledTopic:
    """Fill an event store and publish it all; report the figures into ``section`` when given."""
    settings = infra.settings(mode, f"relay-{mode}")
    pipe = await Pipeline(settings).open()
    try:
        fill_s = await asyncio.to_thread(fill, pipe.app, EVENTS, f"relay/{mode}")
        await pipe.warm_transport()
        publish_s = await publish_all(pipe, EVENTS, f"relay/{mode}")
        published = pipe.relay.position
    finally:
        await pipe.close()
        if mode == "stack":
            infra.drop_database(settings.postgres_dsn)  # the topic stays for `rebuild`
    if published != EVENTS:
        raise RuntimeError(f"relay stopped at position {published}, expected {EVENTS}")
    if section is not None:
        section.add("events", Figure("events in the event store", EVENTS, "events"))
        section.add(
            "fill_per_s", Figure(f"fill rate ({FILL_BATCH} aggregates per save)", EVENTS / fill_s, "events/s")
        )
        section.add("publish_s", Figure("publish_pending until caught up", publish_s, "s"))
        section.add(
            "events_per_s",
            Figure("relay throughput", EVENTS / publish_s, "events/s", TARGET_EVENTS_PER_S[mode], "higher"),
        )
    return FilledTopic(settings, EVENTS)


def run(infra: Infra) -> dict[str, Any]:
    results = {}
    for mode in ("stack", "embedded"):
        section = Section(f"relay / {mode}: {EVENTS} events, {TITLES[mode]} (batch_size 500)")
        infra.shared[f"topic-{mode}"] = asyncio.run(filled_topic(infra, mode, section))
        results[mode] = section.as_json()
    return results
