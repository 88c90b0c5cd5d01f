"""An idle system sleeps: CPU per process and PostgreSQL statements per second, nobody using it.

The system runs as the end-to-end tests run it (``tests.harness.System``: one ``lk run`` on the
embedded default, one ``lk serve <service>`` per service on the real stack), is left to settle
after its health answers, and is then watched for ``WINDOW`` seconds:
- CPU: user + system time of each process from ``/proc/<pid>/stat``, before and after, ÷ the
  window (1.0 = one core busy all the time);
- PostgreSQL (stack): transactions of the system's own database from ``pg_stat_database``
  (``xact_commit + xact_rollback``, read from another database, so the reading is not counted).
  Every statement outside a transaction is one, so this counts statements, and a transaction of
  several statements as one; the server's statistics are flushed within a second, which the
  window's length makes small.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import psycopg

from bench.common import Figure, Infra, Section, base_dsn
from tests.harness import System

SETTLE = 15.0  # seconds after /health answers: start-up work (topics, first polls) is over
WINDOW = 30.0
TARGET_CPU = 0.01  # cores, per process
TARGET_PG = 5.0  # statements per second from the whole stack
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def transactions(database: str) -> int:
    with psycopg.connect(base_dsn(), autocommit=True) as conn:
        row = conn.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s", (database,)
        ).fetchone()
    return int(row[0]) if row else 0


def measure(infra: Infra, mode: str) -> dict[str, Any]:
    title = "one lk run" if mode == "embedded" else "lk serve <service> × 6"
    section = Section(f"idle / {mode}: {title}, nobody using it, over {WINDOW:.0f} s")
    system = System.create(mode, infra.tmpdir(f"idle-{mode}"))
    system.env["LK_LOG_LEVEL"] = "WARNING"
    try:
        system.start()
        time.sleep(SETTLE)
        pids = {name: proc.pid for name, proc in system.procs.items()}
        cpu0 = {name: cpu_seconds(pid) for name, pid in pids.items()}
        pg0 = transactions(system.database) if system.database else 0
        t0 = time.monotonic()
        time.sleep(WINDOW)
        elapsed = time.monotonic() - t0
        cpu = {name: (cpu_seconds(pid) - cpu0[name]) / elapsed for name, pid in pids.items()}
        pg = (transactions(system.database) - pg0) / elapsed if system.database else None
    finally:
        system.destroy()
    for name, cores in cpu.items():
        label = "lk run" if name == "all" else f"lk serve {name}"
        section.add(f"cpu_{name}", Figure(f"CPU of {label}", cores, "cores", TARGET_CPU, "lower"))
    section.add("cpu_total", Figure("CPU of the whole system", sum(cpu.values()), "cores"))
    if pg is not None:
        section.add(
            "pg_per_s",
            Figure("PostgreSQL transactions/s, whole stack", pg, "per s", TARGET_PG, "lower"),
        )
    section.note("pg: pg_stat_database xact_commit + xact_rollback of the system's database")
    return section.as_json()


def run(infra: Infra) -> dict[str, Any]:
    return {mode: measure(infra, mode) for mode in ("embedded", "stack")}
