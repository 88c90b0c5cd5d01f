"""Helpers for end-to-end tests: read the public events back from the transport,
pull the link out of an e-mail."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlsplit

import httpx

from shared.events import Envelope
from shared.transport import build_transport
from tests.conftest import Person
from tests.harness import ROOT, Mail, System

LINK = re.compile(r"https?://\S+")


def link_in(mail: Mail) -> str:
    links = [m.group(0) for m in LINK.finditer(mail.text)]
    assert links, f"no link in: {mail.text!r}"
    return links[0]


def token_in(mail: Mail) -> str:
    return parse_qs(urlsplit(link_in(mail)).query)["token"][0]


def register_and_confirm(system: System, http: httpx.Client, person: Person) -> None:
    """A confirmed consumer account, through the public API and the real e-mail."""
    assert http.post("/api/v1/accounts", json=person.registration()).status_code == 201
    mail = system.mailbox.wait_for(person.email)[0]
    assert http.post("/api/v1/accounts/confirm-email", json={"token": token_in(mail)}).status_code == 200


def log_in(http: httpx.Client, login: str, password: str) -> dict[str, str]:
    """Bearer headers of a new session (the client also keeps the cookies)."""
    answer = http.post("/api/v1/sessions", json={"login": login, "password": password})
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def mails_with(system: System, address: str, subject_part: str, count: int = 1) -> list[Mail]:
    deadline = time.monotonic() + 30
    while True:
        found = [m for m in system.mailbox.messages_to(address) if subject_part in m.subject]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def read_events(
    system: System, service: str, subject: str, expect: int, timeout: float = 30.0
) -> list[Envelope]:
    """The public events of ``subject`` on ``service``'s topic (Kafka on the real stack)."""

    async def collect() -> list[Envelope]:
        settings = system.settings
        transport = build_transport(settings)
        await transport.start()
        found: list[Envelope] = []
        deadline = time.monotonic() + timeout
        try:
            async for batch in transport.consume([settings.topic(service)], {}):
                found.extend(
                    e for e in map(lambda m: Envelope.from_bytes(m.value), batch) if e.subject == subject
                )
                if len(found) >= expect or time.monotonic() > deadline:
                    break
        finally:
            await transport.stop()
        return found

    return asyncio.run(collect())


def lk_ops(system: System, *args: str, code: int = 0, stdin: str | None = None) -> str:
    """``lk ops …`` against the system (its settings); asserts the exit code, returns stdout."""
    done = subprocess.run(
        [sys.executable, "-m", "shared.cli", "ops", *args],
        env=system.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        input=stdin,
    )
    assert done.returncode == code, done.stdout + done.stderr
    return done.stdout
