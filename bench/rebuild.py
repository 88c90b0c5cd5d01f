"""Read-model rebuild: a fresh read store and a ConsumerRunner with the AccountDirectory, reading the
identity topic from offset 0 until every event is applied.

Uses the topic the ``relay`` benchmark filled (or fills its own when run alone). Timed from the
runner's start (schema, offsets, consumer connection included) to the commit of the last batch.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.common import Figure, Infra, Progress, Section
from bench.pipeline import directory_runner, wait_until
from bench.relay_throughput import FilledTopic, filled_topic
from shared.readstore import PostgresReadStore, ReadStore, SQLiteReadStore
from shared.transport import Transport, build_transport

TARGET_EVENTS_PER_S = 10_000.0
TITLES = {"stack": "Kafka → PostgresReadStore", "embedded": "EmbeddedTransport → SQLiteReadStore"}


async def measure(infra: Infra, mode: str, section: Section) -> None:
    topic: FilledTopic | None = infra.shared.get(f"topic-{mode}")
    if topic is None:
        section.note("filling a topic of its own (run with `relay` to reuse that one)")
        topic = await filled_topic(infra, mode)
    settings = topic.settings
    store: ReadStore
    if mode == "stack":
        store = PostgresReadStore(infra.database(f"rebuild-{mode}"))
    else:
        store = SQLiteReadStore(infra.tmpdir(f"rebuild-{mode}") / "read.sqlite")
    await store.open()
    transport: Transport = build_transport(settings)
    await transport.start()
    batches: list[tuple[float, int]] = []  # (commit time, events) per batch

    def on_commit(positions: list[int]) -> None:
        batches.append((time.perf_counter(), len(positions)))

    runner, projection = directory_runner(settings, transport, store, on_commit)
    progress = Progress(f"rebuild/{mode}: applying", topic.events)
    start = time.perf_counter()
    task = asyncio.create_task(runner.run())
    try:

        def done() -> bool:
            if task.done():
                task.result()
                raise RuntimeError("consumer runner stopped")
            progress.update(projection.count)
            return projection.count >= topic.events and not projection.pending

        finished = await wait_until(done, 120)
        elapsed = time.perf_counter() - start
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await transport.stop()
        rows = await store.fetchval("SELECT COUNT(*) FROM identity_accounts")
        await store.close()
        if isinstance(store, PostgresReadStore):
            infra.drop_database(store.dsn)
    if not finished:
        raise RuntimeError(f"only {projection.count} of {topic.events} events applied in 120 s")
    section.add("events", Figure("events applied", projection.count, "events"))
    section.add("rows", Figure("rows in identity_accounts", int(rows), "rows"))
    section.add("batches", Figure("batches (one transaction each)", len(batches), "batches"))
    section.add("first_batch_s", Figure("runner start → first batch committed", batches[0][0] - start, "s"))
    if len(batches) > 1:
        steady = sum(n for _, n in batches[1:]) / (batches[-1][0] - batches[0][0])
        section.add("steady_per_s", Figure("after the first batch", steady, "events/s"))
    section.add("seconds", Figure("runner start → last batch committed", elapsed, "s"))
    section.add(
        "events_per_s",
        Figure("rebuild throughput", projection.count / elapsed, "events/s", TARGET_EVENTS_PER_S, "higher"),
    )


def run(infra: Infra) -> dict[str, Any]:
    results = {}
    for mode in ("stack", "embedded"):
        section = Section(f"rebuild / {mode}: {TITLES[mode]}, fresh read store, from offset 0")
        asyncio.run(measure(infra, mode, section))
        results[mode] = section.as_json()
    return results
