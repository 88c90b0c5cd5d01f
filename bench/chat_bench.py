"""Chat: 1,000 open WebSockets on the gateway while 100 messages/s are posted, on both modes.

The system runs as the end-to-end tests run it (``tests.harness.System``: ``lk run`` for the
embedded default, one process per service on the real stack). One applicant registers,
confirms and logs in through the public API, a staff member is created with ``lk admin
create-staff``; the applicant files 100 applications (a ZIP each). Then 1,000 sockets are
opened through the gateway (``/api/v1/applications/{id}/chat/ws``), 10 per application,
half with the applicant's token and half with the staff's, each waiting for its ``ready``.

Memory per open socket: the RSS growth of the processes that hold sockets (embedded: the
one process; stack: gateway + chat) from before opening them (after a warm-up of 50) to
after, divided by 1,000. These sockets offer no per-message deflate; then 500 more are opened
on top (on an application without traffic) offering it, as browsers do, and measured the same way.

Delivery latency, in two phases of 20 s at 100 messages/s (applicant and staff in turn, round
robin over the applications): first posted as the page posts them (a ``send`` frame on one of
the author's open sockets), then with ``POST …/messages`` through the gateway. Each message is
stamped just before it is sent; every socket stamps it as it arrives. Latency = arrival − send,
over every delivery (10 per message). The client runs on the same two cores.

Across replicas (``python -m bench --only chat-replicas``, ``run_replicas()``): the real stack
with a second chat process; staff sockets on both, 20 posts/s through one for 15 s; the delivery
latency to the sockets of the same process (the in-process push) and of the other (heard through
the event store, services/chat/follow.py), side by side in one run.

``python -m bench.chat_bench`` runs it alone; ``run()`` returns the figures.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import resource
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from bench.common import Figure, Infra, Progress, Section, out, percentile
from tests.conftest import new_person
from tests.e2e.chat_replica import start_chat_replica, stop
from tests.e2e.helpers import log_in, register_and_confirm
from tests.e2e.test_identity_complete import NEW_PASSWORD, create_staff
from tests.harness import System

SOCKETS = 1000
THREADS = 100
RATE = 100.0
DURATION = 20.0
WARM_SOCKETS = 50
DEFLATE_SOCKETS = 500
TARGET_P99_MS = {"embedded": 100.0, "stack": 250.0}
TARGET_KB = 50.0
BENCH_CLIENT = "bench client"
TITLES = {
    "embedded": "embedded default (lk run, one process)",
    "stack": "real stack over Kafka (one process per service)",
}


def _raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = max(soft, min(hard, 65536)) if hard != resource.RLIM_INFINITY else 65536
    if wanted > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))  # children (the servers) inherit it
    return wanted


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _CpuSplit:
    """Cores used over a phase by each process of the system and by this client (which shares
    the two cores with them): who is busy when the tail grows."""

    def __init__(self, procs: dict[str, int]) -> None:
        self.procs = {**procs, BENCH_CLIENT: os.getpid()}
        self.since = self._now()

    def _now(self) -> tuple[float, dict[str, float]]:
        return time.perf_counter(), {name: _cpu_seconds(pid) for name, pid in self.procs.items()}

    def report(self, section: Section, phase: str, how: str) -> None:
        (t0, before), (t1, after) = self.since, self._now()
        cores = {name: (after[name] - before[name]) / (t1 - t0) for name in self.procs}
        system = sum(v for name, v in cores.items() if name != BENCH_CLIENT)
        section.add(f"{phase}_cpu_system", Figure(f"[{how}] CPU of the system under test", system, "cores"))
        section.add(
            f"{phase}_cpu_client",
            Figure(f"[{how}] CPU of this benchmark's client", cores[BENCH_CLIENT], "cores"),
        )
        section.note(f"{how}: " + ", ".join(f"{name} {v:.2f}" for name, v in cores.items()) + " cores")


def _transactions(system: System) -> tuple[int, int]:
    """(transactions written, the most messages one held) from the chat service's /health."""
    try:
        body = httpx.get(system.settings.url_of("chat") + "/health", timeout=5).json()
    except (httpx.HTTPError, ValueError):
        return 0, 0
    return int(body.get("transactions", 0)), int(body.get("largest_transaction", 0))


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("план.txt", "План участка".encode())
    return buffer.getvalue()


def _applications(
    http: httpx.Client, auth: dict[str, str], email: str, count: int = THREADS + 1
) -> list[str]:
    ids = []
    progress = Progress("filing applications", count)
    for i in range(count):  # (of THREADS + 1, the last one for the sockets that only measure memory)
        up = http.post("/api/v1/files", headers=auth, files={"file": ("docs.zip", _zip(), "application/zip")})
        assert up.status_code == 201, up.text
        answer = http.post(
            "/api/v1/applications",
            headers=auth,
            json={
                "type_code": "individual_15kw",
                "power_kw": 10,
                "object_address": f"Бенчмарк, участок {i}",
                "contact": {"phone": "+7 900 000-00-00", "email": email},
                "documents": [{"slot": "archive", "file_id": up.json()["id"]}],
            },
        )
        assert answer.status_code == 201, answer.text
        ids.append(str(answer.json()["id"]))
        progress.update(i + 1)
    return ids


def _parties(system: System, count: int) -> tuple[list[str], tuple[str, str]]:
    """An applicant with ``count`` applications and a staff member; (applications, their tokens)."""
    with system.client() as http:
        consumer, staff = new_person(), new_person()
        create_staff(system, staff.login, staff.email)
        register_and_confirm(system, http, consumer)
        consumer_auth = log_in(http, consumer.login, consumer.password)
        staff_auth = log_in(http, staff.login, NEW_PASSWORD)
        apps = _applications(http, consumer_auth, consumer.email, count)
    tokens = (
        consumer_auth["Authorization"].removeprefix("Bearer "),
        staff_auth["Authorization"].removeprefix("Bearer "),
    )
    return apps, tokens


async def _open(url: str, deflate: bool = False) -> ClientConnection:
    ws = await connect(url, compression="deflate" if deflate else None, max_queue=None, open_timeout=60)
    async with asyncio.timeout(60):
        while json.loads(await ws.recv())["type"] != "ready":
            pass
    return ws


async def _open_many(urls: list[str], concurrency: int = 50, deflate: bool = False) -> list[ClientConnection]:
    gate = asyncio.Semaphore(concurrency)
    progress = Progress("opening sockets", len(urls))
    opened: list[ClientConnection] = []

    async def one(url: str) -> ClientConnection:
        async with gate:
            ws = await _open(url, deflate)
            opened.append(ws)
            progress.update(len(opened))
            return ws

    return list(await asyncio.gather(*(one(u) for u in urls)))


async def _drive(
    system: System, apps: list[str], tokens: tuple[str, str], pids: dict[str, int], section: Section
) -> None:
    every = {name: proc.pid for name, proc in system.procs.items()}
    base = system.base_url.replace("http://", "ws://")

    def url(i: int) -> str:
        app = apps[i % THREADS]
        return f"{base}/api/v1/applications/{app}/chat/ws?access_token={tokens[(i // THREADS) % 2]}"

    warm = await _open_many([url(i) for i in range(WARM_SOCKETS)])
    for ws in warm:
        await ws.close()
    await asyncio.sleep(2)
    before_each = {name: _rss(pid) for name, pid in pids.items()}
    started = time.perf_counter()
    sockets = await _open_many([url(i) for i in range(SOCKETS)])
    opened_in = time.perf_counter() - started
    await asyncio.sleep(2)
    grown_each = {name: (_rss(pid) - before_each[name]) / SOCKETS / 1024 for name, pid in pids.items()}
    section.add("open_s", Figure(f"time to open {SOCKETS} sockets (50 at a time)", opened_in, "s"))
    section.add(
        "memory_per_socket_kb",
        Figure("server memory per open socket", sum(grown_each.values()), "KB", TARGET_KB, "lower"),
    )
    if len(grown_each) > 1:
        section.note("of which " + ", ".join(f"{name} {kb:.1f} KB" for name, kb in grown_each.items()))

    # As browsers connect: offering per-message deflate (uvicorn accepts it). Opened on top of the
    # others, on an application of their own (no traffic), and kept open, so no freed memory is reused.
    before = sum(_rss(p) for p in pids.values())
    quiet = f"{base}/api/v1/applications/{apps[THREADS]}/chat/ws?access_token={tokens[0]}"
    browsers = await _open_many([quiet] * DEFLATE_SOCKETS, deflate=True)
    await asyncio.sleep(2)
    grown = (sum(_rss(p) for p in pids.values()) - before) / DEFLATE_SOCKETS / 1024
    section.add(
        "memory_per_socket_deflate_kb",
        Figure(
            f"per socket with per-message deflate ({DEFLATE_SOCKETS} more)", grown, "KB", TARGET_KB, "lower"
        ),
    )

    sent: dict[str, float] = {}
    latencies: dict[str, list[float]] = {"socket": [], "http": []}

    async def reader(ws: ClientConnection) -> None:
        async for raw in ws:
            now = time.perf_counter()
            if '"type":"message"' not in str(raw):
                continue
            text = json.loads(raw)["message"]["text"]
            if text in sent:
                latencies[text.split(":")[0]].append((now - sent[text]) * 1000)

    readers = [asyncio.create_task(reader(ws)) for ws in sockets]
    # Posting sockets: per application, one of the applicant's and one of the staff's.
    posters = {(i % THREADS, (i // THREADS) % 2): sockets[i] for i in range(2 * THREADS)}
    auth = [{"Authorization": f"Bearer {t}"} for t in tokens]
    target = TARGET_P99_MS["embedded" if system.mode == "embedded" else "stack"]
    async with httpx.AsyncClient(
        base_url=system.base_url, timeout=30, limits=httpx.Limits(max_connections=32)
    ) as http:
        for phase in ("socket", "http"):
            failures = 0
            post_ms: list[float] = []

            async def post(n: int, phase: str = phase, post_ms: list[float] = post_ms) -> None:
                nonlocal failures
                text = f"{phase}:{n}"
                author = (n // THREADS) % 2
                sent[text] = t0 = time.perf_counter()
                if phase == "socket":  # as the page does: a "send" frame with a client id
                    frame = {"type": "send", "client_id": f"bench{n:08d}{phase}", "text": text}
                    await posters[(n % THREADS, author)].send(json.dumps(frame))
                    return
                try:
                    answer = await http.post(
                        f"/api/v1/applications/{apps[n % THREADS]}/messages",
                        headers=auth[author],
                        json={"text": text},
                    )
                    ok = answer.status_code == 201
                except httpx.HTTPError:
                    ok = False
                post_ms.append((time.perf_counter() - t0) * 1000)
                failures += not ok

            total = int(RATE * DURATION)
            cpu = _CpuSplit(every)
            commits_before = await asyncio.to_thread(_transactions, system)
            progress = Progress(f"{phase}: posting at {RATE:.0f}/s", total)
            tasks = []
            start = time.perf_counter()
            for n in range(total):
                delay = start + n / RATE - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(post(n)))
                progress.update(n + 1, f"(deliveries {len(latencies[phase])})")
            await asyncio.gather(*tasks)
            rate = total / (time.perf_counter() - start)
            expected = (total - failures) * (SOCKETS // THREADS)
            deadline = time.monotonic() + 20
            while len(latencies[phase]) < expected and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.1)
            got = latencies[phase]
            how = "a socket frame" if phase == "socket" else "POST …/messages"
            cpu.report(section, phase, how)
            commits, largest = await asyncio.to_thread(_transactions, system)
            if commits:
                per = (total - failures) / max(commits - commits_before[0], 1)
                section.note(f"{how}: {per:.1f} messages per chat transaction (at most {largest} in one)")
            section.add(f"{phase}_rate", Figure(f"[{how}] posted (offered {RATE:.0f}/s)", rate, "msg/s"))
            section.add(
                f"{phase}_deliveries",
                Figure(
                    f"[{how}] deliveries received / expected",
                    len(got) / max(expected, 1),
                    "ratio",
                    1,
                    "higher",
                ),
            )
            if post_ms:
                section.add(
                    f"{phase}_failed", Figure(f"[{how}] posts refused", failures, "posts", 0, "lower")
                )
                section.add(
                    f"{phase}_rtt_p50_ms", Figure(f"[{how}] round trip p50", percentile(post_ms, 50), "ms")
                )
            section.add(
                f"{phase}_p50_ms", Figure(f"[{how}] post → delivered, p50", percentile(got, 50), "ms")
            )
            section.add(
                f"{phase}_p90_ms", Figure(f"[{how}] post → delivered, p90", percentile(got, 90), "ms")
            )
            section.add(
                f"{phase}_p99_ms",
                Figure(f"[{how}] post → delivered, p99", percentile(got, 99), "ms", target, "lower"),
            )
            section.add(
                f"{phase}_max_ms", Figure(f"[{how}] post → delivered, max", max(got, default=None), "ms")
            )
            await asyncio.sleep(
                11
            )  # the rate limit's window (20 per 10 s per author and thread) starts afresh
    for task in readers:
        task.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    await asyncio.gather(*(ws.close() for ws in browsers), return_exceptions=True)


def measure(mode: str, root: Path) -> dict[str, Any]:
    section = Section(f"chat / {TITLES[mode]}: {SOCKETS} sockets on the gateway, {RATE:.0f} messages/s")
    system = System.create(mode, root)
    system.env["LK_LOG_LEVEL"] = "WARNING"
    try:
        out("  … starting the system")
        system.start()
        apps, tokens = _parties(system, THREADS + 1)
        holders = ["all"] if mode == "embedded" else ["gateway", "chat"]
        pids = {name: system.procs[name].pid for name in holders}
        asyncio.run(_drive(system, apps, tokens, pids, section))
        section.note("sockets opened without per-message deflate, then 500 with it (browsers offer it and")
        section.note("uvicorn accepts it: zlib state per socket; ws_per_message_deflate=False turns it off)")
    finally:
        system.destroy()
    return section.as_json()


# Across replicas: two chat processes on the real stack, sockets on each, posts through one.
REPLICA_THREADS = 20
REPLICA_SOCKETS = 4  # per thread and replica
REPLICA_RATE = 20.0
REPLICA_DURATION = 15.0
TARGET_CROSS_P99_MS = 100.0


async def _across(urls: tuple[str, str], apps: list[str], tokens: tuple[str, str], section: Section) -> None:
    """Sockets of the staff on both replicas; the applicant posts through replica A. Each arrival
    is timed from just before its POST: on A (the in-process push) and on B (heard through the
    store: NOTIFY, then a read of the new events)."""
    consumer, staff = tokens
    holders: list[tuple[str, ClientConnection]] = []
    for side, url in zip("AB", urls, strict=True):
        base = url.replace("http://", "ws://")
        wanted = [f"{base}/api/v1/applications/{a}/chat/ws?access_token={staff}" for a in apps]
        holders += [(side, ws) for ws in await _open_many(wanted * REPLICA_SOCKETS)]
    sent: dict[str, float] = {}
    arrivals: dict[str, list[float]] = {"A": [], "B": []}

    async def reader(side: str, ws: ClientConnection) -> None:
        async for raw in ws:
            now = time.perf_counter()
            if '"type":"message"' in str(raw):
                text = json.loads(raw)["message"]["text"]
                if text in sent:
                    arrivals[side].append((now - sent[text]) * 1000)

    readers = [asyncio.create_task(reader(side, ws)) for side, ws in holders]
    total = int(REPLICA_RATE * REPLICA_DURATION)
    failures = 0
    async with httpx.AsyncClient(base_url=urls[0], timeout=30) as http:
        start = time.perf_counter()
        tasks = []

        async def post(n: int) -> None:
            nonlocal failures
            text = f"replica:{n}"
            sent[text] = time.perf_counter()
            answer = await http.post(
                f"/api/v1/applications/{apps[n % len(apps)]}/messages",
                headers={"Authorization": f"Bearer {consumer}"},
                json={"text": text},
            )
            failures += answer.status_code != 201

        for n in range(total):
            await asyncio.sleep(max(0.0, start + n / REPLICA_RATE - time.perf_counter()))
            tasks.append(asyncio.create_task(post(n)))
        await asyncio.gather(*tasks)
        expected = total * REPLICA_SOCKETS
        deadline = time.monotonic() + 10
        while min(len(v) for v in arrivals.values()) < expected and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
    for task in readers:
        task.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    await asyncio.gather(*(ws.close() for _, ws in holders), return_exceptions=True)
    for side, how in (("A", "same replica (in-process push)"), ("B", "other replica (through the store)")):
        got = arrivals[side]
        section.add(f"{side}_deliveries", Figure(f"[{how}] deliveries (expected {expected})", len(got), ""))
        section.add(f"{side}_p50_ms", Figure(f"[{how}] post → delivered, p50", percentile(got, 50), "ms"))
        target = TARGET_CROSS_P99_MS if side == "B" else None
        section.add(
            f"{side}_p99_ms",
            Figure(
                f"[{how}] post → delivered, p99", percentile(got, 99), "ms", target, "lower" if target else ""
            ),
        )
    section.add("failed", Figure("posts refused", failures, "posts", 0, "lower"))


def measure_replicas(root: Path) -> dict[str, Any]:
    section = Section(
        f"chat / two chat processes on the real stack: {REPLICA_THREADS} threads, {REPLICA_SOCKETS} staff"
        f" sockets per thread on each, {REPLICA_RATE:.0f} posts/s through one"
    )
    system = System.create("stack", root)
    system.env["LK_LOG_LEVEL"] = "WARNING"
    second = None
    try:
        out("  … starting the system and a second chat process")
        system.start()
        second, url_b = start_chat_replica(system)
        apps, tokens = _parties(system, REPLICA_THREADS)
        asyncio.run(_across((system.settings.url_of("chat"), url_b), apps, tokens, section))
        section.note("B's sockets get A's messages from B's follower: NOTIFY on commit, then a read of the")
        section.note("new events from the store (services/chat/follow.py); no relay or Kafka in the way")
    finally:
        if second is not None:
            stop(second)
        system.destroy()
    return section.as_json()


def run_replicas(infra: Infra | None = None) -> dict[str, Any]:
    root = infra.tmpdir("chat-replicas") if infra else Path(tempfile.mkdtemp(prefix="lk-chat-replicas-"))
    return {"stack": measure_replicas(root / "stack")}


def run(infra: Infra | None = None) -> dict[str, Any]:
    """Measure, print and return the figures of both modes."""
    limit = _raise_nofile()
    out(f"  (open-files limit {limit})")
    root = infra.tmpdir("chat") if infra else Path(tempfile.mkdtemp(prefix="lk-chat-bench-"))
    return {mode: measure(mode, root / mode) for mode in ("embedded", "stack")}


if __name__ == "__main__":
    from shared.logs import configure_logging

    configure_logging("WARNING")
    print(json.dumps(run(), indent=2, ensure_ascii=False))
