"""Kafka stopped during registration: registration still succeeds (the event store is
the outbox) and the e-mail arrives, once, when Kafka is back. Real stack only: the
embedded transport is a local file with nothing to stop."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import new_person
from tests.harness import ROOT, System


def kafka(action: str) -> None:
    subprocess.run(["bash", str(ROOT / "deploy" / "kafka.sh"), action], check=True, cwd=ROOT)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[System]:
    system = System.create("stack", tmp_path)
    system.start()
    try:
        yield system
    finally:
        kafka("start")  # whatever happened, leave Kafka running for the rest
        system.destroy()


def test_registration_survives_kafka_outage(stack: System) -> None:
    before, during = new_person(), new_person()
    with stack.client() as http:
        assert http.post("/api/v1/accounts", json=before.registration()).status_code == 201
        assert len(stack.mailbox.wait_for(before.email)) == 1

        kafka("stop")
        started = time.monotonic()
        answer = http.post("/api/v1/accounts", json=during.registration())
        assert answer.status_code == 201, answer.text
        assert time.monotonic() - started < 5, "registration must not wait for Kafka"
        time.sleep(3)
        assert stack.mailbox.messages_to(during.email) == []

        kafka("start")
        assert len(stack.mailbox.wait_for(during.email, timeout=90)) == 1
    time.sleep(2)
    assert len(stack.mailbox.messages_to(during.email)) == 1
    assert len(stack.mailbox.messages_to(before.email)) == 1
