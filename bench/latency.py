"""Commit → visible in the account directory, at a steady rate, on both modes.

A worker thread commits one new Account every 1/RATE s through ``IdentityApp.commit`` (which wakes
the relay, as the API does); the commit time is stamped by the app's ``on_saved`` hook, right after
the event store transaction. The directory runner stamps the positions of each batch once its
read-store transaction has committed. Latency = visible − committed, per notification id.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from bench.common import Figure, Infra, Progress, Section, new_account, password_hash, percentile, tag
from bench.pipeline import Pipeline, directory_runner, wait_until

RATE = 200.0
DURATION = 15.0
WARMUP = 20
TARGET_P99_MS = {"embedded": 100.0, "stack": 250.0}
TITLES = {
    "embedded": "SQLite event store → EmbeddedTransport → SQLiteReadStore",
    "stack": "PostgreSQL event store → Kafka → PostgresReadStore",
}


async def measure(infra: Infra, mode: str) -> dict[str, Any]:
    section = Section(f"latency / {mode}: commit → visible in the account directory ({TITLES[mode]})")
    settings = infra.settings(mode, f"latency-{mode}")
    password_hash()
    pipe = await Pipeline(settings).open()
    committed: dict[int, float] = {}
    visible: dict[int, float] = {}
    high_water: list[tuple[float, int]] = []  # (time, ConsumerRunner.applied) after each batch
    stamp = [0.0]

    def on_saved() -> None:
        stamp[0] = time.perf_counter()
        pipe.relay.wake()

    def on_commit(positions: list[int]) -> None:
        now = time.perf_counter()
        for p in positions:
            visible[p] = now
        high_water.append((now, runner.applied.get("identity", 0)))

    pipe.app.on_saved = on_saved
    runner, _ = directory_runner(settings, pipe.transport, pipe.store, on_commit)
    try:
        pipe.start("relay", pipe.relay.run())
        pipe.start("directory", runner.run())
        run = tag()

        # Warm-up: the first events create the topic, connect producer and consumer.
        warm = [await asyncio.to_thread(pipe.app.commit, new_account(run, -1 - i)) for i in range(WARMUP)]
        if not await wait_until(lambda: all(n in visible for n in warm), 60, pipe):
            raise RuntimeError("warm-up events never became visible")

        total = int(RATE * DURATION)
        progress = Progress(f"latency/{mode} committing at {RATE:.0f}/s", total)
        stop = threading.Event()

        def produce() -> None:
            start = time.perf_counter()
            for i in range(total):
                if stop.is_set():
                    return
                delay = start + i / RATE - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                nid = pipe.app.commit(new_account(run, i))
                committed[nid] = stamp[0]

        producer = asyncio.ensure_future(asyncio.to_thread(produce))
        try:
            while not producer.done():
                pipe.check_tasks()
                progress.update(len(committed), f"(visible {max(0, len(visible) - WARMUP)})")
                await asyncio.sleep(0.25)
            await producer
        finally:
            stop.set()
        await wait_until(lambda: all(n in visible for n in committed), 30, pipe)
    finally:
        await pipe.close()
        if mode == "stack":
            infra.drop_database(settings.postgres_dsn)

    latencies = [(visible[n] - t) * 1000 for n, t in committed.items() if n in visible]
    # What ConsumerRunner.wait_for (read-your-writes) would report: the first batch whose
    # high-water mark reached the position. With several partitions it can come too early.
    early = 0
    for n, t_visible in visible.items():
        if n in committed:
            first = next((t for t, hw in high_water if hw >= n), t_visible)
            early += first < t_visible
    section.add("events", Figure("events committed (after warm-up)", len(committed), "events"))
    times = sorted(committed.values())
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else None
    section.add("rate", Figure(f"achieved commit rate (offered {RATE:.0f}/s)", rate, "events/s"))
    section.add("missing", Figure("never visible within 30 s", len(committed) - len(latencies), "events"))
    section.add("p50_ms", Figure("p50 commit → visible", percentile(latencies, 50), "ms"))
    section.add("p90_ms", Figure("p90 commit → visible", percentile(latencies, 90), "ms"))
    target = TARGET_P99_MS[mode]
    section.add("p99_ms", Figure("p99 commit → visible", percentile(latencies, 99), "ms", target, "lower"))
    section.add("max_ms", Figure("max commit → visible", max(latencies, default=None), "ms"))
    section.add(
        "wait_for_early",
        Figure("wait_for() said visible before the row was", early, "events", 0, "lower"),
    )
    return section.as_json()


def run(infra: Infra) -> dict[str, Any]:
    return {mode: asyncio.run(measure(infra, mode)) for mode in ("embedded", "stack")}
