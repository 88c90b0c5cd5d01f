"""``GET /api/v1/me`` through the gateway, as a ratio to a bare uvicorn endpoint measured in the same run.

The bare endpoint is ``bench.bare`` (one async FastAPI route returning a small dict) served by uvicorn
in a subprocess. The system runs as ``tests.harness.System`` does in the end-to-end tests: "stack"
(each service its own process, on PostgreSQL, Kafka and Mailpit; nginx in front sends ``/api/v1``
straight to identity) and "embedded" (``lk run``: the gateway dispatches ``/api/v1`` to identity's app
in the same process). Printed: the ratio to the bare endpoint and the CPU per request of each process
on the path (nginx: its master and workers together) and their sum, next to the targets. One
account is registered, confirmed (token from the e-mail) and logged in through the public API; its
bearer token goes to wrk. Each target gets a short wrk warm-up, then ``wrk -t1 -c32 -d10s --latency``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from bench.common import Figure, Infra, Section, out
from tests.e2e.helpers import token_in
from tests.harness import EDGE, ROOT, System, free_port

WRK = ["-t1", "-c32", "-d10s", "--latency"]
WARMUP = ["-t1", "-c32", "-d2s"]
TARGET_RATIO = 0.5
TARGET_CPU_US = 250.0  # per /me, every process on its path together
PASSWORD = "Корова-на-луне-2026!"
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass(frozen=True)
class WrkResult:
    requests_per_s: float
    p50_ms: float | None
    p99_ms: float | None
    requests: int
    errors: int  # non-2xx/3xx answers plus socket errors
    cpu_us: dict[str, float] = field(default_factory=dict)  # process → CPU µs per request


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def parse_wrk(output: str) -> WrkResult:
    def pct(p: str) -> float | None:
        found = re.search(rf"^\s+{p}%\s+(\S+)", output, re.M)
        return _ms(found.group(1)) if found else None

    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if rate is None or total is None:
        raise RuntimeError(f"cannot read wrk output:\n{output}")
    errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sockets.groups())) if sockets else 0)
    return WrkResult(float(rate.group(1)), pct("50"), pct("99"), int(total.group(1)), errors)


def _stat(pid: int | str) -> list[str]:
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def group_cpu_seconds(pgid: int) -> float:
    """The CPU time of every process of a process group (nginx: its master and workers)."""
    total = 0.0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = _stat(entry)
            except OSError:
                continue  # gone meanwhile
            if int(fields[2]) == pgid:
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def cpu_of(name: str, pid: int) -> float:
    return group_cpu_seconds(pid) if name == EDGE else cpu_seconds(pid)


def wrk(url: str, token: str | None, label: str, pids: dict[str, int]) -> WrkResult:
    """Warm up, then measure; also the CPU time each of ``pids`` spent per request."""
    header = ["-H", f"Authorization: Bearer {token}"] if token else []
    out(f"  … wrk {label}: 2 s warm-up, then {' '.join(WRK)}")
    subprocess.run(["wrk", *WARMUP, *header, url], check=True, capture_output=True, timeout=60)
    before = {name: cpu_of(name, pid) for name, pid in pids.items()}
    done = subprocess.run(["wrk", *WRK, *header, url], check=True, capture_output=True, text=True, timeout=60)
    spent = {name: cpu_of(name, pid) - before[name] for name, pid in pids.items()}
    result = parse_wrk(done.stdout)
    cpu = {name: s / result.requests * 1e6 for name, s in spent.items() if result.requests}
    return replace(result, cpu_us=cpu)


def add_wrk_figures(section: Section, result: WrkResult) -> None:
    section.add("requests_per_s", Figure("requests/s", result.requests_per_s, "req/s"))
    section.add("p50_ms", Figure("latency p50 (wrk)", result.p50_ms, "ms"))
    section.add("p99_ms", Figure("latency p99 (wrk)", result.p99_ms, "ms"))
    section.add("errors", Figure("non-2xx answers and socket errors", result.errors, "responses", 0, "lower"))
    for name, us in result.cpu_us.items():
        section.add(f"cpu_us_{name}", Figure(f"CPU per request, process {name!r}", us, "µs"))


def add_cpu_total(section: Section, result: WrkResult) -> None:
    """The CPU of every process on the request's path, per request, next to its target."""
    total = sum(result.cpu_us.values()) if result.cpu_us else None
    section.add("cpu_us_total", Figure("CPU per request, all processes", total, "µs", TARGET_CPU_US, "lower"))


def bare_endpoint(infra: Infra) -> WrkResult:
    port = free_port()
    log = open(infra.tmpdir("bare") / "uvicorn.log", "wb")  # noqa: SIM115 - the child keeps it
    args = [
        "-m",
        "uvicorn",
        "bench.bare:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=log, stderr=log)
    try:
        url = f"http://127.0.0.1:{port}/api/v1/me"
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"bare uvicorn exited with {proc.returncode}")
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.1)
        return wrk(url, None, "bare uvicorn", {"uvicorn": proc.pid})
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def log_in(system: System) -> str:
    """Register, confirm (token from the mailbox) and log in one account; returns its bearer token."""
    tag = uuid.uuid4().hex[:10]
    login, email = f"bench_{tag}", f"bench_{tag}@example.ru"
    with system.client() as http:
        created = http.post(
            "/api/v1/accounts",
            json={"login": login, "email": email, "password": PASSWORD, "account_type": "consumer"},
        )
        if created.status_code != 201:
            raise RuntimeError(f"registration failed: {created.status_code} {created.text}")
        mails = system.mailbox.wait_for(email, timeout=60)
        if not mails:
            raise RuntimeError("no confirmation e-mail within 60 s")
        confirmed = http.post("/api/v1/accounts/confirm-email", json={"token": token_in(mails[0])})
        if confirmed.status_code != 200:
            raise RuntimeError(f"confirmation failed: {confirmed.status_code} {confirmed.text}")
        session = http.post("/api/v1/sessions", json={"login": login, "password": PASSWORD})
        if session.status_code != 201:
            raise RuntimeError(f"log-in failed: {session.status_code} {session.text}")
        token = str(session.json()["access_token"])
        me = http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        if me.status_code != 200:
            raise RuntimeError(f"GET /api/v1/me answered {me.status_code} {me.text}")
    return token


def through_gateway(infra: Infra, mode: str) -> WrkResult:
    system = System.create(mode, infra.tmpdir(f"gateway-{mode}"))
    if "LK_TOPIC_PREFIX" in system.env:
        infra.topic_prefixes.append(system.env["LK_TOPIC_PREFIX"])
    try:
        out(f"  … starting the system ({mode}: {', '.join(system.components())})")
        system.start()
        token = log_in(system)
        # The processes on the request's path (the other services idle meanwhile).
        pids = {
            name: proc.pid
            for name, proc in system.procs.items()
            if name in ("all", "gateway", "identity", EDGE)
        }
        return wrk(system.base_url + "/api/v1/me", token, f"gateway ({mode})", pids)
    finally:
        system.destroy()


def run(infra: Infra) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed: bash deploy/tools.sh")
    results: dict[str, Any] = {}
    section = Section("gateway / bare: one-route FastAPI app on uvicorn (the baseline)")
    bare = bare_endpoint(infra)
    add_wrk_figures(section, bare)
    results["bare"] = section.as_json()
    for mode in ("stack", "embedded"):
        path = "nginx → identity" if mode == "stack" else "lk run: the gateway → identity's app, in-process"
        section = Section(f"gateway / {mode}: GET /api/v1/me, {path}")
        result = through_gateway(infra, mode)
        add_wrk_figures(section, result)
        add_cpu_total(section, result)
        ratio = result.requests_per_s / bare.requests_per_s if bare.requests_per_s else None
        section.add("ratio", Figure("ratio to the bare endpoint", ratio, "×", TARGET_RATIO, "higher"))
        results[mode] = section.as_json()
    return results
