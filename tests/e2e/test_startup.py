"""Start-up: until every service behind the gateway answers, the gateway says «запускается»
(503 with Retry-After, a Russian page or a JSON error) — never a half-working cabinet — and
``lk run`` prints the cabinet's address only once it works."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.harness import ROOT, System


def test_nothing_half_started_is_shown(tmp_path: Path) -> None:
    system = System.create("embedded", tmp_path)
    log = open(tmp_path / "all.log", "wb")  # noqa: SIM115 - kept open for the child
    proc = subprocess.Popen(
        [sys.executable, "-m", "shared.cli", "run"], env=system.env, cwd=ROOT, stdout=log, stderr=log
    )
    seen: set[int] = set()
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                api = httpx.get(system.base_url + "/api/v1/application-types", timeout=5)
                page = httpx.get(system.base_url + "/", timeout=5)
            except httpx.TransportError:
                time.sleep(0.05)
                continue
            for answer in (api, page):
                seen.add(answer.status_code)
                assert answer.status_code in (200, 503), answer.status_code
                if answer.status_code == 503:
                    assert answer.headers["retry-after"]
                    assert "запускается" in answer.text
            printed = (tmp_path / "all.log").read_text(errors="replace")
            if "готов" in printed:
                # Once the address is printed, everything behind it answers.
                assert (
                    api.status_code == 200 or httpx.get(system.base_url + "/api/v1/forms").status_code == 200
                )
            if api.status_code == page.status_code == 200 and "готов" in printed:
                break
            time.sleep(0.05)
        assert 200 in seen
        assert f"готов: {system.base_url}" in (tmp_path / "all.log").read_text(errors="replace")
    finally:
        proc.terminate()
        proc.wait(15)
