"""Applications: submissions per second with two attached documents (wrk, POST
/api/v1/applications) through the public entry and at the applications service itself (the
difference is the gateway's hop), and status change → e-mail visible (Mailpit on the real
stack, the Maildir sink on the embedded default), p50/p99, behind the backlog of receipts the
submissions left in the notifier's outbox.

The e-mail is looked for cheaply, so the poll measures the system, not itself: Mailpit is
searched by the application's number, the Maildir's new files are read once, headers only."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from email import policy
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.common import Figure, Infra, Section, out, percentile
from bench.gateway import cpu_of, cpu_seconds, log_in, parse_wrk
from tests.conftest import new_person
from tests.e2e.files_helpers import upload_pdf, upload_zip
from tests.e2e.test_identity_complete import NEW_PASSWORD, create_staff
from tests.harness import EDGE, System

TARGET_SUBMISSIONS = {"embedded": 300.0, "stack": 200.0}
CHANGES = 30

LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(token)s"
wrk.body = '%(body)s'
"""


def _submissions(system: System, infra: Infra, token: str) -> dict[str, Any]:
    """wrk at the public entry, then at the applications service (its own port)."""
    auth = {"Authorization": f"Bearer {token}"}
    with system.client() as http:
        docs = [
            {"slot": "archive", "file_id": upload_zip(http, auth)},
            {"slot": "application_form", "file_id": upload_pdf(http, auth)},
        ]
        body = {
            "type_code": "individual_15kw",
            "power_kw": 10,
            "object_address": "г. Тверь, ул. Садовая, д. 7",
            "contact": {"phone": "+7 900 123-45-67", "email": "bench@example.ru"},
            "documents": docs,
        }
        first = http.post("/api/v1/applications", headers=auth, json=body)
        if first.status_code != 201:
            raise RuntimeError(f"submission failed: {first.status_code} {first.text}")
    script = infra.tmpdir("wrk") / "submit.lua"
    script.write_text(LUA % {"token": token, "body": json.dumps(body, ensure_ascii=False)}, encoding="utf-8")
    service = f"http://127.0.0.1:{system.env['LK_APPLICATIONS_PORT']}/api/v1/applications"
    entry, cpu = _wrk(script, system.base_url + "/api/v1/applications", system)
    return {"entry": entry, "cpu_ms": cpu, "service": _wrk(script, service, None)[0]}


DRAIN_S = 3.0  # after wrk: the work the submissions left behind (projections, receipts) is counted too


def _wrk(script: Path, url: str, system: System | None) -> tuple[Any, dict[str, float]]:
    """wrk's figures and, with ``system``, the CPU milliseconds per submission of each of its
    processes (and, on the stack, of the servers) over the run and ``DRAIN_S`` after it."""
    out(f"  … wrk {url}: 2 s warm-up, then -t1 -c16 -d10s")
    subprocess.run(
        ["wrk", "-t1", "-c16", "-d2s", "-s", str(script), url], check=True, capture_output=True, timeout=60
    )
    groups = _cpu_groups(system) if system is not None else {}
    before = {name: _cpu(pids) for name, pids in groups.items()}
    profilers = _profile(system) if system is not None else []
    done = subprocess.run(
        [
            "wrk",
            "-t1",
            "-c" + os.environ.get("LK_BENCH_CONN", "16"),
            "-d10s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    result = parse_wrk(done.stdout)
    if not groups:
        return result, {}
    time.sleep(DRAIN_S)
    for profiler in profilers:
        profiler.wait(timeout=60)
    spent = {name: _cpu(pids) - before[name] for name, pids in groups.items()}
    return result, {name: s * 1000 / result.requests for name, s in spent.items() if result.requests}


def _profile(system: System) -> list[subprocess.Popen[bytes]]:
    """With ``LK_BENCH_PROFILE=<folder>`` (and py-spy on PATH or beside the interpreter): py-spy samples each of the
    system's processes while the GIL is held, over the run and the drain, into
    ``<folder>/<mode>-<process>.txt`` (collapsed stacks, for flame graphs or a sort by frame)."""
    folder = os.environ.get("LK_BENCH_PROFILE")
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if not folder or spy is None:
        return []
    Path(folder).mkdir(parents=True, exist_ok=True)
    seconds = str(int(10 + DRAIN_S))
    return [
        subprocess.Popen(
            [
                spy,
                "record",
                "--gil",
                "--nonblocking",
                "--format",
                "raw",
                "-d",
                seconds,
                "-r",
                "200",
                "-p",
                str(proc.pid),
                "-o",
                str(Path(folder) / f"{system.mode}-{name}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, proc in system.procs.items()
        if name != EDGE
    ]


def _cpu_groups(system: System) -> dict[str, list[tuple[str, int]]]:
    """The processes to count, by name: the system's own, and on the stack PostgreSQL's
    sessions of the system's database, PostgreSQL's shared processes, Kafka, S3 and Mailpit
    (those shared with anything else running against the same servers)."""
    groups = {name: [(name, proc.pid)] for name, proc in system.procs.items()}
    if system.mode != "stack":
        # lk run's own children: the Maildir mail sink (the stack's Mailpit, counted there too)
        listing = subprocess.run(["ps", "-eo", "pid=,ppid="], capture_output=True, text=True, check=True)
        parents = {proc.pid for proc in system.procs.values()}
        children = [
            int(pid)
            for pid, ppid in (line.split() for line in listing.stdout.splitlines())
            if int(ppid) in parents
        ]
        if children:
            groups["mail sink (lk run's child process)"] = [("", pid) for pid in children]
        return groups
    dsn = system.settings.postgres_dsn
    with psycopg.connect(dsn) as conn:
        mine = [
            int(r[0])
            for r in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        ]
    groups["postgres: the system's sessions"] = [("", pid) for pid in mine]
    listing = subprocess.run(["ps", "-eo", "pid=,ppid=,comm="], capture_output=True, text=True, check=True)
    procs = [line.split(None, 2) for line in listing.stdout.splitlines()]
    master = [int(pid) for pid, ppid, comm in procs if comm.strip() == "postgres" and ppid == "1"]
    shared = [
        int(pid) for pid, ppid, _ in procs if master and int(ppid) == master[0] and int(pid) not in mine
    ]
    groups["postgres: shared processes (also others')"] = [("", pid) for pid in master + shared]
    for comm, label in (
        ("java", "kafka (shared)"),
        ("versitygw", "s3 (shared)"),
        ("mailpit", "mailpit (shared)"),
    ):
        groups[label] = [("", int(pid)) for pid, _, c in procs if c.strip() == comm]
    return groups


def _cpu(pids: list[tuple[str, int]]) -> float:
    total = 0.0
    for name, pid in pids:
        try:
            total += cpu_of(name, pid) if name else cpu_seconds(pid)
        except OSError:
            continue  # ended meanwhile
    return total


class _Inbox:
    """Whether an e-mail whose subject holds ``words`` has arrived, asked cheaply."""

    def __init__(self, system: System) -> None:
        self.mailpit = None if system.mode == "embedded" else system.settings.mailpit_api
        self.maildir = system.root / "var" / "mail"
        self.read: set[Path] = set()
        self.subjects: list[str] = []

    def has(self, *words: str) -> bool:
        if self.mailpit is not None:
            found = httpx.get(
                f"{self.mailpit}/api/v1/search", params={"query": f'subject:"{words[0]}"', "limit": 50}
            ).json()
            subjects = [str(m["Subject"]) for m in found.get("messages") or []]
        else:
            parser = BytesHeaderParser(policy=policy.default)
            for sub in ("new", "cur"):
                folder = self.maildir / sub
                for path in folder.iterdir() if folder.is_dir() else ():
                    if path not in self.read:
                        self.read.add(path)
                        with path.open("rb") as file:
                            self.subjects.append(str(parser.parse(file)["Subject"]))
            subjects = self.subjects
        return any(all(w in subject for w in words) for subject in subjects)


def _pending_mail(system: System) -> float | None:
    """E-mails in the notifier's outbox not sent yet (its /health)."""
    try:
        health = httpx.get(f"http://127.0.0.1:{system.env['LK_NOTIFIER_PORT']}/health", timeout=5).json()
    except (httpx.HTTPError, ValueError):
        return None
    return float(health["pending_mail"]) if "pending_mail" in health else None


def _status_mail(system: System, token: str) -> list[float]:
    staff = new_person()
    create_staff(system, staff.login, staff.email)
    auth = {"Authorization": f"Bearer {token}"}
    latencies: list[float] = []
    inbox = _Inbox(system)
    with system.client() as http:
        email = http.get("/api/v1/me", headers=auth).json()["email"]
        staff_auth = {
            "Authorization": "Bearer "
            + http.post("/api/v1/sessions", json={"login": staff.login, "password": NEW_PASSWORD}).json()[
                "access_token"
            ]
        }
        docs = [{"slot": "archive", "file_id": upload_zip(http, auth)}]
        for _ in range(CHANGES):
            created = http.post(
                "/api/v1/applications",
                headers=auth,
                json={
                    "type_code": "individual_15kw",
                    "power_kw": 5,
                    "object_address": "г. Тверь, ул. Лесная, 1",
                    "contact": {"phone": "+7 900 000-00-00", "email": email},
                    "documents": docs,
                },
            ).json()
            number = created["number"]
            started = time.perf_counter()
            moved = http.post(
                f"/api/v1/applications/{created['id']}/transitions",
                headers=staff_auth,
                json={"to_status": "in_work", "comment": "в работе"},
            )
            if moved.status_code != 200:
                raise RuntimeError(f"transition failed: {moved.status_code} {moved.text}")
            deadline = time.perf_counter() + 30
            while time.perf_counter() < deadline:
                if inbox.has(number, "В работе"):
                    latencies.append((time.perf_counter() - started) * 1000)
                    break
                time.sleep(0.02)
    return latencies


def run(infra: Infra) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for mode in os.environ.get("LK_BENCH_MODES", "embedded,stack").split(","):  # one of them: while profiling
        system = System.create(mode, infra.tmpdir(f"applications-{mode}"))
        if "LK_TOPIC_PREFIX" in system.env:
            infra.topic_prefixes.append(system.env["LK_TOPIC_PREFIX"])
        try:
            out(f"  … starting the system ({mode})")
            system.start()
            token = log_in(system)
            section = Section(f"applications / {mode}: POST /api/v1/applications with two documents (wrk)")
            measured = _submissions(system, infra, token)
            for where, label in (("entry", "the public entry"), ("service", "the applications service")):
                result = measured[where]
                suffix = "" if where == "entry" else "_service"
                section.add(
                    f"submissions_per_s{suffix}",
                    Figure(
                        f"submissions/s at {label}",
                        result.requests_per_s,
                        "req/s",
                        TARGET_SUBMISSIONS[mode],
                        "higher",
                    ),
                )
                section.add(f"p99_ms{suffix}", Figure(f"latency p99 at {label}", result.p99_ms, "ms"))
                section.add(
                    f"errors{suffix}",
                    Figure(
                        f"non-2xx answers and socket errors at {label}",
                        result.errors,
                        "responses",
                        0,
                        "lower",
                    ),
                )
            cpu = measured["cpu_ms"]
            for name, ms in sorted(cpu.items()):
                label = "lk run (every service in one process)" if name == "all" else name
                section.add(f"cpu_ms_{name}", Figure(f"CPU per submission, {label}", ms, "ms"))
            total = sum(cpu.values())
            if len(cpu) > 1:
                section.add("cpu_ms_total", Figure("CPU per submission, all of the above", total, "ms"))
            if total:
                # What the machine's cores could do at this cost if nothing else ran and every
                # process used them fully (one process is held to about one core by its GIL).
                cores = os.cpu_count() or 1
                section.add(
                    "cpu_bound_per_s",
                    Figure(
                        f"submissions/s that {cores} cores allow at this cost", cores * 1000 / total, "req/s"
                    ),
                )
            results[f"submit_{mode}"] = section.as_json()
            backlog = _pending_mail(system)
            section = Section(f"applications / {mode}: status change → e-mail visible ({CHANGES} changes)")
            latencies = _status_mail(system, token)
            section.add(
                "backlog", Figure("e-mails waiting in the outbox when the changes began", backlog, "mails")
            )
            section.add("delivered", Figure("e-mails seen", len(latencies), "mails"))
            section.add("p50_ms", Figure("status change → e-mail p50", percentile(latencies, 50), "ms"))
            section.add(
                "p99_ms", Figure("status change → e-mail p99", percentile(latencies, 99), "ms", 2000, "lower")
            )
            results[f"mail_{mode}"] = section.as_json()
        finally:
            system.destroy()
    return results
