"""A million events (issue 15): ``lk ops seed``'s data — 100 000 accounts, 100 000 applications
with their status histories, a chat of four messages each — in a system of each mode, then:

- seeding speed, and how long the relays and projections take to digest it all (lag 0);
- a restart with all of it stored: each service's time to ready and its memory (RSS), and the
  memory the consumers' read-your-writes copy of what they applied takes (``_seen``, loaded
  at start from ``lk_consumer_applied``: measured here with tracemalloc, per service);
- the staff queue's p99 with search and filters, the consumer's list p99;
- ``lk ops rebuild applications.view`` under the running system: events/s;
- ``lk ops audit-application``: time per application.

The size is ``LK_BENCH_EVENTS`` (default 1 000 000; accounts and applications are a tenth each)
and the modes ``LK_BENCH_MODES`` (default ``stack,embedded``): ``make bench-million
EVENTS=100000`` runs a smaller one. Not part of a plain ``make bench`` (it takes long).
"""

from __future__ import annotations

import asyncio
import os
import random
import threading
import time
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.common import Figure, Infra, Progress, Section, out, percentile
from shared.audit import application_trail
from shared.consumer import ConsumerRunner, Projection
from shared.events import Envelope
from shared.readstore import ReadStore, Tx, build_readstore
from shared.rebuild import rebuild
from shared.seed import SeedPlan, run_seed
from shared.settings import Settings
from shared.topology import CONSUMES, SESSIONS, topics
from shared.transport import build_transport
from tests.harness import STACK_ORDER, System

TARGET_REBUILD = 10_000.0  # events/s (issue 15)
TARGET_AUDIT_S = 1.0  # issue 15
TARGET_QUEUE_P99_MS = 300.0  # the staff queue, with search and filters
TARGET_LIST_P99_MS = 100.0  # a consumer's own applications
TARGET_START_S = 30.0  # a service ready after a restart with everything stored
REQUESTS = 100  # per query shape
MESSAGES = 4  # per application's chat


def _size() -> tuple[int, int]:
    events = int(os.environ.get("LK_BENCH_EVENTS", "1000000"))
    # An account is 3 events, an application 2.2 (its histories in turn), its chat 1 + MESSAGES.
    per = 3 + 2.2 + 1 + MESSAGES
    each = max(1, round(events / per))
    return each, each


def _rss(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _children_rss(pid: int) -> int:
    """A process and its descendants (``lk run`` is one process; nginx has workers)."""
    total = _rss(pid)
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return total
    return total + sum(_children_rss(int(k)) for k in kids)


class _Nothing(Projection):
    async def handle(self, tx: Tx, event: Envelope) -> None:  # pragma: no cover - never fed
        return None


def _consumers() -> dict[str, list[str]]:
    """Service → the consumers whose positions its read store keeps."""
    found: dict[str, list[str]] = {}
    for name in [*CONSUMES, *(f"{s}.sessions" for s in SESSIONS)]:
        found.setdefault(name.split(".", 1)[0], []).append(name)
    return {service: sorted(set(names)) for service, names in found.items()}


async def _lag(settings: Settings) -> int:
    """Records not yet applied, over every consumer of every service."""
    transport = build_transport(settings)
    await transport.start()
    lag = 0
    ends: dict[tuple[str, ...], Any] = {}  # one look at each set of topics per poll
    try:
        for service, names in _consumers().items():
            store = build_readstore(settings, service)
            await store.open()
            try:
                for name in names:
                    wanted = topics(name, settings)
                    if wanted not in ends:
                        ends[wanted] = await transport.end_offsets(wanted)
                    rows = await store.fetch(
                        "SELECT topic, part, next_offset FROM lk_consumer_offsets WHERE consumer = $1", name
                    )
                    at = {(r["topic"], int(r["part"])): int(r["next_offset"]) for r in rows}
                    lag += sum(max(0, end - at.get(key, 0)) for key, end in ends[wanted].items())
            except Exception:
                lag += 1
            finally:
                await store.close()
    finally:
        await transport.stop()
    return lag


def _digest(settings: Settings, total: int, timeout: float) -> float | None:
    """Seconds until every consumer has applied everything (None: not within ``timeout``)."""
    started = time.perf_counter()
    progress = Progress("records still to apply (all consumers)", every=15)
    while time.perf_counter() - started < timeout:
        lag = asyncio.run(_lag(settings))
        progress.update(lag, f"(of ~{total} events stored)")
        if lag == 0:
            return time.perf_counter() - started
        time.sleep(5)
    return None


async def _seen_memory(settings: Settings) -> dict[str, tuple[int, int, float, float]]:
    """Per service: streams its consumers hold in ``_seen`` and have applied, MB held,
    seconds to load them."""
    found: dict[str, tuple[int, int, float, float]] = {}
    transport = build_transport(settings)
    for service, names in _consumers().items():
        store: ReadStore = build_readstore(settings, service)
        await store.open()
        try:
            streams, applied, size, seconds = 0, 0, 0, 0.0
            for name in names:
                projection = _Nothing()
                projection.name = name
                runner = ConsumerRunner(projection, transport, store)
                started = time.perf_counter()
                await runner.load_seen()
                seconds += time.perf_counter() - started
                runner._seen = {}
                tracemalloc.start()  # again, counted: what the dict and its keys hold
                await runner.load_seen()
                size += tracemalloc.get_traced_memory()[0]
                tracemalloc.stop()
                streams += len(runner._seen)
                applied += int(
                    await store.fetchval("SELECT COUNT(*) FROM lk_consumer_applied WHERE consumer = $1", name)
                    or 0
                )
                del runner
            found[service] = (streams, applied, size / 2**20, seconds)
        finally:
            await store.close()
    return found


class _Ready:
    """Polls every service's own /health from a thread: when each first answered 200."""

    def __init__(self, system: System, services: tuple[str, ...]) -> None:
        self.urls = {s: f"http://127.0.0.1:{system.env[f'LK_{s.upper()}_PORT']}/health" for s in services}
        self.ready: dict[str, float] = {}
        self.started = time.perf_counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        with httpx.Client(timeout=2) as http:
            while not self._stop.is_set() and len(self.ready) < len(self.urls):
                for service, url in self.urls.items():
                    if service in self.ready:
                        continue
                    try:
                        if http.get(url).status_code == 200:
                            self.ready[service] = time.perf_counter() - self.started
                    except httpx.HTTPError:
                        pass
                time.sleep(0.05)

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join(5)
        return self.ready


def _timed(http: httpx.Client, path: str, auth: dict[str, str], params: dict[str, Any]) -> float:
    started = time.perf_counter()
    answer = http.get(path, headers=auth, params=params)
    elapsed = (time.perf_counter() - started) * 1000
    if answer.status_code != 200:
        raise RuntimeError(f"{path} {params}: {answer.status_code} {answer.text[:200]}")
    return elapsed


def _log_in(http: httpx.Client, login: str, password: str) -> dict[str, str]:
    answer = http.post("/api/v1/sessions", json={"login": login, "password": password})
    if answer.status_code != 201:
        raise RuntimeError(f"login of {login}: {answer.status_code} {answer.text[:200]}")
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _queries(system: System, plan: SeedPlan, section: Section) -> None:
    rng = random.Random(15)
    filed = plan.filed
    with system.client() as http:
        staff = _log_in(http, f"seed-{plan.tag}-staff", plan.password)
        shapes: dict[str, Any] = {
            "queue": lambda: {},
            "queue_status": lambda: {"status": rng.choice(["submitted", "in_work", "needs_documents"])},
            "queue_number": lambda: {"q": rng.choice(filed).number[-6:]},
            "queue_name_status": lambda: {
                "q": f"{plan.tag}-{rng.randrange(1, plan.accounts)}",
                "status": "in_work",
            },
            "queue_overdue_waiting": lambda: {"overdue": "grid_company", "waiting": "grid_company"},
            "queue_deep_page": lambda: {"offset": rng.randrange(1000, 5000), "limit": 50},
        }
        labels = {
            "queue": "staff queue, first page",
            "queue_status": "staff queue, by status",
            "queue_number": "staff queue, search by number",
            "queue_name_status": "staff queue, search by name + status",
            "queue_overdue_waiting": "staff queue, overdue + waiting filters",
            "queue_deep_page": "staff queue, page at offset 1 000–5 000",
        }
        worst = 0.0
        for key, params in shapes.items():
            times = [_timed(http, "/api/v1/applications", staff, params()) for _ in range(REQUESTS)]
            p99 = percentile(times, 99) or 0.0
            worst = max(worst, p99)
            section.add(
                f"{key}_p99_ms", Figure(f"{labels[key]} p99", p99, "ms", TARGET_QUEUE_P99_MS, "lower")
            )
        section.add(
            "queue_worst_p99_ms", Figure("staff queue, worst p99", worst, "ms", TARGET_QUEUE_P99_MS, "lower")
        )
        times = []
        for person in rng.sample(plan.people, min(10, len(plan.people))):
            auth = _log_in(http, person.login, plan.password)
            times.extend(_timed(http, "/api/v1/applications", auth, {}) for _ in range(REQUESTS // 10))
        section.add(
            "consumer_list_p99_ms",
            Figure("a consumer's list p99", percentile(times, 99), "ms", TARGET_LIST_P99_MS, "lower"),
        )


def _restart(system: System, mode: str, section: Section) -> None:
    system.stop()
    services = ("identity", "applications", "chat", "files", "notifier", "gateway")
    ready = _Ready(system, services)
    system.start()
    took = ready.stop()
    time.sleep(5)  # the consumers load what they applied once the service answers
    for service in services:
        section.add(
            f"start_{service}_s",
            Figure(f"restart → {service} ready", took.get(service), "s", TARGET_START_S, "lower"),
        )
    if mode == "embedded":
        section.add(
            "rss_all_mb",
            Figure("memory of lk run (all services)", _children_rss(system.procs["all"].pid) / 2**20, "MB"),
        )
        return
    for service in STACK_ORDER:
        proc = system.procs.get(service)
        if proc is not None and service != "edge":
            section.add(f"rss_{service}_mb", Figure(f"memory of {service}", _rss(proc.pid) / 2**20, "MB"))


def _measure(infra: Infra, mode: str, results: dict[str, Any]) -> None:
    accounts, applications = _size()
    system = System.create(mode, infra.tmpdir(f"million-{mode}"))
    system.env["LK_LOG_LEVEL"] = "WARNING"
    system.env["LK_DEADLINE_WATCHER"] = "false"  # its passes over 100 000 applications are another figure
    if "LK_TOPIC_PREFIX" in system.env:
        infra.topic_prefixes.append(system.env["LK_TOPIC_PREFIX"])
    settings = system.settings.model_copy(update={"allow_seed": True})
    try:
        section = Section(f"million / {mode}: seed {accounts} accounts, {applications} applications, chats")
        plan = SeedPlan(accounts, applications, MESSAGES, batch=500)
        progress = Progress("seeding", accounts + 2 * applications + 1, every=15)
        done = [0]

        def advance(stage: str, n: int) -> None:
            done[0] += n
            progress.update(done[0], stage)

        plan.advance = advance
        started = time.perf_counter()
        run_seed(settings, plan)
        seeded = time.perf_counter() - started
        total = sum(plan.events.values())
        section.add("events", Figure("events stored", total, "events"))
        section.add("seed_per_s", Figure("seeding", total / seeded, "events/s"))
        for service, count in plan.events.items():
            section.note(f"{service}: {count} events")

        out(f"  … starting the system ({mode}) on {total} stored events")
        system.start()
        digested = _digest(settings, total, timeout=3 * 3600)
        section.add("digest_s", Figure("start → every consumer at lag 0", digested, "s"))
        if digested:
            section.add(
                "digest_per_s", Figure("stored events digested by the system", total / digested, "events/s")
            )

        _restart(system, mode, section)
        for service, (streams, applied, mb, seconds) in asyncio.run(_seen_memory(settings)).items():
            section.add(f"seen_{service}_mb", Figure(f"{service}: _seen of {streams} streams", mb, "MB"))
            section.note(f"{service}: {applied} streams applied, {streams} held; loaded in {seconds:.2f} s")

        _queries(system, plan, section)

        out("  … lk ops rebuild applications.view (the system running)")
        progress = Progress("rebuild: records read", every=10)
        rebuilt = asyncio.run(
            rebuild(settings, "applications.view", lambda read, all_: progress.update(read, f"/ {all_}"))
        )
        section.add("rebuild_events", Figure("rebuild: records read", rebuilt.events, "events"))
        section.add(
            "rebuild_per_s",
            Figure("rebuild of applications.view", rebuilt.per_second, "events/s", TARGET_REBUILD, "higher"),
        )
        section.add(
            "rebuild_swap_ms", Figure("rebuild: the swap transaction", rebuilt.swap_seconds * 1000, "ms")
        )

        times = []
        for filed in random.Random(7).sample(plan.filed, min(30, len(plan.filed))):
            started = time.perf_counter()
            entries = application_trail(settings, uuid.UUID(filed.application_id))
            times.append(time.perf_counter() - started)
            if not entries:
                raise RuntimeError(f"no audit for {filed.application_id}")
        section.add("audit_p50_s", Figure("audit of an application p50", percentile(times, 50), "s"))
        section.add(
            "audit_max_s",
            Figure("audit of an application, slowest", max(times), "s", TARGET_AUDIT_S, "lower"),
        )
        results[mode] = section.as_json()
    finally:
        _destroy(system)


def _destroy(system: System) -> None:
    """Stop it and drop its database; an autovacuum worker of a million rows' database (the
    server's own role, which ours may not end) can hold the drop up for a moment."""
    for attempt in range(10):
        try:
            system.destroy()
            return
        except psycopg.errors.InsufficientPrivilege:
            if attempt == 9:
                raise
            time.sleep(3)


def run(infra: Infra) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for mode in os.environ.get("LK_BENCH_MODES", "stack,embedded").split(","):
        if mode.strip():
            _measure(infra, mode.strip(), results)
    return results
