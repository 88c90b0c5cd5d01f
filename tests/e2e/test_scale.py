"""Issue 15's scale tools on both modes, against the running system: ``lk ops seed`` (refused
outside a test setting; what it seeds is read back through the public API), ``lk ops
rebuild`` with its swap while the API is read and written all along, and ``lk ops
audit-application``."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.seed import SeedPlan
from tests.e2e.helpers import log_in
from tests.harness import System

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = SeedPlan(0, 0).password


def lk_ops(
    system: System, *args: str, allow: bool = True, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in system.env.items() if k != "LK_ALLOW_SEED"}
    if allow:
        env["LK_ALLOW_SEED"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "shared.cli", "ops", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def seed(system: System, accounts: int, applications: int, messages: int) -> str:
    tag = uuid.uuid4().hex[:8]
    done = lk_ops(
        system,
        "seed",
        *("--accounts", str(accounts), "--applications", str(applications), "--messages", str(messages)),
        *("--tag", tag, "--batch", "7"),  # several transactions even for a few aggregates
    )
    assert done.returncode == 0, done.stderr
    return tag


def until(check: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def queue(http: httpx.Client, auth: dict[str, str], **query: Any) -> dict[str, Any]:
    answer = http.get("/api/v1/applications", headers=auth, params=query)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_seed_is_refused_outside_a_test_setting(system: System) -> None:
    done = lk_ops(system, "seed", "--accounts", "1", "--applications", "1", allow=False)
    assert done.returncode == 2
    assert "запрещено" in done.stderr and "LK_ALLOW_SEED" in done.stderr


def test_a_tiny_seed_reads_back_through_the_api(system: System) -> None:
    tag = seed(system, accounts=3, applications=10, messages=3)
    with system.client() as http:
        staff = log_in(http, f"seed-{tag}-staff", PASSWORD)
        listed = until(lambda: (found := queue(http, staff, q=tag, limit=50))["total"] == 10 and found)
        assert listed, queue(http, staff, q=tag)
        statuses = sorted(item["status"] for item in listed["items"])
        # Five histories in turn (services/applications/seed.py): each ends in its status.
        expected = ["submitted", "in_work", "in_work", "annulled", "needs_documents"] * 2
        assert statuses == sorted(expected)

        # The first applicant files the 1st, 4th, 7th and 10th: they see those four, no other.
        applicant = log_in(http, f"seed-{tag}-1", PASSWORD)
        own = until(lambda: (found := queue(http, applicant))["total"] == 4 and found)
        assert own and {item["number"] for item in own["items"]} <= {i["number"] for i in listed["items"]}
        annulled = next(i for i in listed["items"] if i["status"] == "annulled")
        page = http.get(f"/api/v1/applications/{annulled['id']}", headers=staff).json()
        assert [step["to_status"] for step in page["timeline"]][-2:] == ["in_work", "annulled"]

        # The chat: the applicant and the staff member in turn.
        first = own["items"][0]["id"]
        thread = until(
            lambda: (
                (got := http.get(f"/api/v1/applications/{first}/messages", headers=applicant)).status_code
                == 200
                and got.json()
            )
        )
        assert thread, "the chat never learnt of the seeded application"
        roles = [m["author_role"] for m in thread["items"]]
        assert roles == ["consumer", "staff", "consumer"]
    # Seeded addresses are of the reserved .invalid domain: no e-mail is even queued.
    assert system.mailbox.messages_to(f"seed-{tag}-1@example.invalid") == []


def test_audit_of_an_application_lists_its_events_with_their_actors(system: System) -> None:
    tag = seed(system, accounts=1, applications=4, messages=2)
    with system.client() as http:
        staff = log_in(http, f"seed-{tag}-staff", PASSWORD)
        listed = until(lambda: (found := queue(http, staff, q=tag))["total"] == 4 and found)
        assert listed
        row = next(i for i in listed["items"] if i["status"] == "annulled")  # the 4th: three moves
        page = http.get(f"/api/v1/applications/{row['id']}", headers=staff).json()
    done = lk_ops(system, "audit-application", row["id"])
    assert done.returncode == 0, done.stderr
    entries = [json.loads(line) for line in done.stdout.splitlines()]
    own = [e for e in entries if e["service"] == "applications"]
    assert [e["type"] for e in own] == ["Application.Submitted"] + ["Application.StatusChanged"] * 2
    assert own[0]["actor"] == page["applicant_id"] and own[0]["role"] == "consumer"
    assert {e["role"] for e in own[1:]} == {"staff"} and own[1]["name"] == "Сотрудник наполнения"
    chat = [e for e in entries if e["service"] == "chat"]
    assert [e["type"] for e in chat] == ["Thread.Opened", "Thread.MessagePosted", "Thread.MessagePosted"]
    assert [e["role"] for e in chat[1:]] == ["consumer", "staff"]
    assert all(e["at"] and e["aggregate"] == row["id"] for e in entries)

    missing = lk_ops(system, "audit-application", str(uuid.uuid4()))
    assert missing.returncode == 1 and "не найдена" in missing.stderr


def test_rebuild_swaps_while_the_api_reads_and_writes(system: System) -> None:
    """The queue is read in a loop and statuses change during the whole rebuild: no read fails
    or comes back short, and every change made before, during and after the swap is in the
    rebuilt view exactly once (the live runner reloads from the swapped positions)."""
    tag = seed(system, accounts=20, applications=300, messages=0)
    with system.client() as http:
        staff = log_in(http, f"seed-{tag}-staff", PASSWORD)
        assert until(lambda: queue(http, staff, q=tag, limit=1)["total"] == 300)
        fresh = [i["id"] for i in queue(http, staff, q=tag, status="submitted", limit=200)["items"]]
    assert len(fresh) == 60
    stop = threading.Event()
    failures: list[str] = []
    reads = 0
    moved: list[str] = []

    def reader() -> None:
        nonlocal reads
        with system.client() as http:
            while not stop.is_set():
                answer = http.get("/api/v1/applications", headers=staff, params={"q": tag, "limit": 5})
                if (
                    answer.status_code != 200
                    or answer.json()["total"] != 300
                    or len(answer.json()["items"]) != 5
                ):
                    failures.append(f"{answer.status_code} {answer.text[:200]}")
                reads += 1

    def writer() -> None:
        with system.client() as http:
            for app_id in fresh:
                if stop.is_set():
                    return
                answer = http.post(
                    f"/api/v1/applications/{app_id}/transitions",
                    headers=staff,
                    json={"to_status": "in_work", "comment": ""},
                )
                if answer.status_code != 200:
                    failures.append(f"move {answer.status_code} {answer.text[:200]}")
                moved.append(app_id)
                time.sleep(0.05)

    threads = [threading.Thread(target=reader), threading.Thread(target=writer)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.5)
        done = lk_ops(system, "rebuild", "applications.view")
        time.sleep(0.5)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert done.returncode == 0, done.stderr
    assert "перестроена" in done.stdout
    assert failures == []
    assert reads > 10 and len(moved) > 5

    with system.client() as http:
        # After the swap the live runner goes on: one more change lands in the new tables.
        last = fresh[-1] if fresh[-1] not in moved else None
        if last is not None:
            assert (
                http.post(
                    f"/api/v1/applications/{last}/transitions",
                    headers=staff,
                    json={"to_status": "in_work", "comment": ""},
                ).status_code
                == 200
            )
            moved.append(last)

        def settled() -> bool:
            in_work = {i["id"] for i in queue(http, staff, q=tag, status="in_work", limit=200)["items"]}
            return set(moved) <= in_work

        assert until(settled, 30), "a status change made around the swap is missing from the rebuilt view"
        for app_id in moved:
            timeline = http.get(f"/api/v1/applications/{app_id}", headers=staff).json()["timeline"]
            assert [s["to_status"] for s in timeline].count("in_work") == 1, timeline


@pytest.mark.parametrize("name", ["notifier.outbox", "nothing.such"])
def test_only_read_models_are_rebuilt(system: System, name: str) -> None:
    done = lk_ops(system, "rebuild", name)
    assert done.returncode == 2 and "перестроить нельзя" in done.stderr
