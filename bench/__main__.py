"""``python -m bench [--only NAME ...]``: run the benchmarks, print the figures next to their targets
and write them to ``var/bench/results.json``. Timing never fails the run: exit 0 unless one crashes."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bench import (
    applications_bench,
    chat_bench,
    documents_bench,
    files_bench,
    gateway,
    identity_bench,
    idle,
    latency,
    million,
    process_bench,
    rebuild,
    relay_throughput,
)
from bench.common import RESULTS, Infra, fmt, out
from shared.logs import configure_logging

BENCHMARKS: dict[str, tuple[str, Callable[[Infra], dict[str, Any]]]] = {
    "latency": ("commit → visible in a read model at a steady 200 events/s", latency.run),
    "relay": ("relay throughput, 20 000 events from the event store to the transport", relay_throughput.run),
    "rebuild": ("read-model rebuild from offset 0", rebuild.run),
    "gateway": ("GET /api/v1/me through the gateway vs a bare uvicorn endpoint (wrk)", gateway.run),
    "identity": ("login latency at 20 logins/s, token check cost", lambda infra: identity_bench.run(infra)),
    "files": (
        "200 MB upload/download through the public entry (stack: nginx) vs the minio SDK; files service memory",
        files_bench.run,
    ),
    "chat": ("1 000 open WebSockets, 100 messages/s: delivery latency and memory per socket", chat_bench.run),
    "chat-replicas": (
        "two chat processes: delivery to sockets of the same and of the other",
        chat_bench.run_replicas,
    ),
    "applications": ("submissions/s with two documents, status change → e-mail", applications_bench.run),
    "documents": (
        "fee estimates/s, the application form and a contract as DOCX/s, PDF by LibreOffice",
        documents_bench.run,
    ),
    "idle": ("an idle system: CPU per process, PostgreSQL statements/s (nobody using it)", idle.run),
    "process": (
        "the process: offers/s, payments/s, the whole process per application, statement import lines/s",
        process_bench.run,
    ),
    "million": (
        "1 000 000 events (lk ops seed): start time and memory, queue p99s, rebuild and audit speed",
        million.run,
    ),
}
LONG = {"million"}  # run only when named (make bench-million): not part of a plain `make bench`


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help=f"run only these (repeat, or comma-separated): {', '.join(BENCHMARKS)}",
    )
    args = parser.parse_args(argv)
    wanted = [n.strip() for item in args.only for n in item.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    names = [n for n in BENCHMARKS if n in wanted] or [n for n in BENCHMARKS if n not in LONG]
    configure_logging("WARNING")

    results: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "benchmarks": {},
    }
    crashed: list[str] = []
    infra = Infra()
    started = time.perf_counter()
    out(f"Личный кабинет ТП — benchmarks: {', '.join(names)}  (figures only; timing never fails the run)")
    try:
        for name in names:
            title, bench = BENCHMARKS[name]
            load = os.getloadavg()[0]
            out(f"\n=== {name}: {title} ===  (load average {load:.2f} on {os.cpu_count()} CPUs)")
            t0 = time.perf_counter()
            try:
                results["benchmarks"][name] = {"load_average_at_start": round(load, 2), **bench(infra)}
            except Exception as exc:
                crashed.append(name)
                out(f"  CRASHED: {type(exc).__name__}: {exc}")
                traceback.print_exc()
                results["benchmarks"][name] = {"error": f"{type(exc).__name__}: {exc}"}
            out(f"  ({name} took {time.perf_counter() - t0:.0f} s)")
    finally:
        infra.close()
        results["elapsed_s"] = round(time.perf_counter() - started, 1)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")

    out(
        f"\n=== summary ({results['elapsed_s']:.0f} s; figures in {RESULTS.relative_to(RESULTS.parents[2])}) ==="
    )
    for name, data in results["benchmarks"].items():
        for line in _summary(name, data):
            out(line)
    return 1 if crashed else 0


def _summary(name: str, data: dict[str, Any], path: str = "") -> list[str]:
    lines = []
    for key, value in data.items():
        if not isinstance(value, dict):
            continue
        where = f"{path}/{key}" if path else key
        if "met" in value:
            verdict = "ok" if value["met"] else ("MISSED" if value["met"] is False else "n/a")
            sign = "≤" if value["better"] == "lower" else "≥"
            shown = "n/a" if value["value"] is None else fmt(value["value"])
            lines.append(
                f"  {verdict:<6} {name}/{where}: {shown} {value['unit']} (target {sign} {fmt(value['target'])})"
            )
        elif "value" not in value:
            lines.extend(_summary(name, value, where))
    return lines


if __name__ == "__main__":
    sys.exit(main())
