"""PostgreSQL stopped under a running stack: every request is refused with 503 and
``Retry-After`` within seconds (never a 500, never a hang), ``/health`` says what is down
while ``/health/live`` stays up, and when the server is back everything works again at
once — mail included, without waiting out a long backoff. Real stack only."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import new_person
from tests.e2e.files_helpers import upload_pdf
from tests.e2e.helpers import log_in, register_and_confirm
from tests.harness import ROOT, System


def postgres(action: str) -> None:
    subprocess.run(["bash", str(ROOT / "deploy" / "postgres.sh"), action], check=True, cwd=ROOT)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[System]:
    system = System.create("stack", tmp_path)
    try:
        system.start()
        yield system
    finally:
        postgres("start")  # whatever happened, leave PostgreSQL running for the rest
        system.destroy()


def timed(call: object) -> tuple[float, httpx.Response]:
    started = time.monotonic()
    answer = call()  # type: ignore[operator]
    return time.monotonic() - started, answer


def test_postgres_outage_is_refused_quickly_and_recovered_from(stack: System) -> None:
    person, later = new_person(), new_person()
    with stack.client() as http:
        register_and_confirm(stack, http, person)
        auth = log_in(http, person.login, person.password)
        postgres("stop")
        try:
            for name, call in {
                "read": lambda: http.get("/api/v1/applications", headers=auth),
                "profile": lambda: http.patch(
                    "/api/v1/me", json={"first_name": "Анна", "last_name": "Иванова"}, headers=auth
                ),
                "upload": lambda: http.post(
                    "/api/v1/files",
                    headers=auth,
                    files={"file": ("скан.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")},
                ),
                "register": lambda: http.post("/api/v1/accounts", json=later.registration()),
            }.items():
                took, answer = timed(call)
                assert answer.status_code == 503, (name, answer.status_code, answer.text)
                assert answer.json()["code"] == "service_unavailable", name
                assert "retry-after" in answer.headers, name
                assert took < 8, f"{name} took {took:.1f} s"  # bounded (5 s waits + overhead)
            health = http.get("/health")
            assert health.status_code == 503
            assert http.get("/health/live").status_code == 200
            identity = httpx.get(
                f"http://127.0.0.1:{stack.env['LK_IDENTITY_PORT']}/health", timeout=10
            ).json()
            assert identity["dependencies"]["read_store"].startswith("unavailable")
            time.sleep(15)  # long enough for crashing workers to have backed off
        finally:
            postgres("start")
        deadline = time.monotonic() + 30
        while http.get("/health").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert http.get("/health").status_code == 200
        # Back at once: a fresh registration's e-mail arrives within seconds, not after a
        # worker's half-minute backoff.
        started = time.monotonic()
        assert http.post("/api/v1/accounts", json=later.registration()).status_code == 201
        assert len(stack.mailbox.wait_for(later.email, timeout=30)) == 1
        assert time.monotonic() - started < 12, "mail resumed late after PostgreSQL returned"
        assert upload_pdf(http, auth)  # commands work again
