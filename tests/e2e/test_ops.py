"""Operators' tools on a running system, both modes: dead letters, lag, /metrics."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime

import httpx
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from shared.events import Envelope
from shared.transport import build_transport
from tests.conftest import Person
from tests.e2e.helpers import lk_ops, log_in, register_and_confirm
from tests.harness import System


def publish(system: System, service: str, envelope: Envelope) -> None:
    """Onto ``service``'s topic through the project's own transport, as its relay would."""

    async def run() -> None:
        settings = system.settings
        transport = build_transport(settings)
        await transport.start()
        try:
            await transport.publish(settings.topic(service), [(envelope.subject, envelope.to_bytes())])
        finally:
            await transport.stop()

    asyncio.run(run())


def letters(system: System, *args: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in lk_ops(system, "dead-letters", "list", "--json", *args).splitlines()]


def test_a_poison_event_is_parked_and_the_projections_go_on(system: System, person: Person) -> None:
    """An envelope that parses but whose payload no projection can read (a registration without
    its fields) reaches every consumer of identity.events: each parks it and goes on — the
    next person's confirmation e-mail still comes; retry fails again, skip keeps it."""
    poison = str(uuid.uuid4())
    bad = Envelope(
        id=Envelope.event_id("identity", poison, 1),
        type="lk.identity.AccountRegistered.v1",
        source="identity",
        subject=poison,
        time=datetime.now(UTC),
        sequence=1,
        position=0,  # no relay position: waits for a position are not misled
        data={"account_id": poison},
    )
    publish(system, "identity", bad)
    with system.client() as http:
        register_and_confirm(system, http, person)  # the notifier's outbox went on past it
    deadline = time.monotonic() + 60
    while True:
        parked = [r for r in letters(system, "--service", "notifier") if r["subject"] == poison]
        if parked or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    [letter] = [r for r in parked if r["consumer"] == "notifier.outbox"]
    assert letter["status"] == "parked" and letter["event_type"] == bad.type
    assert letter["source"] == "identity" and letter["sequence"] == 1
    assert letter["topic"] == system.settings.topic("identity")
    assert "ValidationError" in str(letter["error"]) and letter["attempts"] == 5
    assert json.loads(str(letter["envelope"]))["subject"] == poison
    health = httpx.get(system.settings.url_of("notifier") + "/health", timeout=10).json()
    assert health["dead_letters"] >= 1
    assert f"#{letter['id']}" in lk_ops(system, "dead-letters", "list", "--service", "notifier")

    # The projection still cannot read it: a retry parks it again, with the new error.
    ident = str(letter["id"])
    out = lk_ops(system, "dead-letters", "retry", ident, "--service", "notifier", code=1)
    assert "запрошен" in out
    [again] = [r for r in letters(system, "--service", "notifier") if r["id"] == letter["id"]]
    assert again["status"] == "parked" and again["attempts"] == 6

    # Skip: asks first (no means no), then kept for the audit, out of the open list.
    lk_ops(system, "dead-letters", "skip", ident, "--service", "notifier", code=1, stdin="n\n")
    assert any(r["id"] == letter["id"] for r in letters(system, "--service", "notifier"))
    assert "пропущено" in lk_ops(system, "dead-letters", "skip", ident, "--service", "notifier", "--yes")
    assert not any(r["id"] == letter["id"] for r in letters(system, "--service", "notifier"))
    [kept] = [r for r in letters(system, "--service", "notifier", "--all") if r["id"] == letter["id"]]
    assert kept["status"] == "skipped" and kept["resolved_at"]
    lk_ops(system, "dead-letters", "retry", ident, "--service", "notifier", code=1)  # closed for good

    # Tidy up: the same poison parked by the other services' consumers is skipped too.
    for row in letters(system):
        if row["subject"] == poison:
            lk_ops(system, "dead-letters", "skip", str(row["id"]), "--service", str(row["service"]), "--yes")


def test_lag_drains_to_zero_after_commands(system: System, person: Person) -> None:
    """After a registration, its confirmation and a login, every consumer catches up with the
    topics' end offsets and every relay with its event store: lag 0 everywhere, and the ends
    measured are real (the identity topic holds at least those three events)."""
    with system.client() as http:
        register_and_confirm(system, http, person)
        assert http.post("/api/v1/sessions", json={"login": person.login, "password": person.password})
    deadline = time.monotonic() + 60
    while True:
        report = json.loads(lk_ops(system, "lag", "--json"))
        behind = [c for c in report["consumers"] if c["lag"]] + [r for r in report["relays"] if r["backlog"]]
        if not behind or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert behind == []
    identity = system.settings.topic("identity")
    directory = [c for c in report["consumers"] if c["consumer"] == "identity.directory"]
    assert {c["topic"] for c in directory} == {identity}
    assert sum(c["end_offset"] for c in directory) >= 3
    assert all(c["next_offset"] == c["end_offset"] for c in report["consumers"])
    relays = {r["service"]: r for r in report["relays"]}
    assert set(relays) >= {"identity"} and relays["identity"]["last_id"] >= 3
    table = lk_ops(system, "lag")
    assert "Отставание" in table and "identity.directory" in table and "Всего не обработано: 0." in table


OWN_FAMILIES = {
    "identity": {"lk_relay_backlog"},
    "applications": {"lk_relay_backlog"},
    "chat": {"lk_relay_backlog", "lk_chat_open_sockets"},
    "files": {"lk_relay_backlog"},
    "notifier": {"lk_notifier_outbox_depth", "lk_notifier_mail_failures"},
    "gateway": set(),
}
EVERY_SERVICE = {
    "lk_http_requests",
    "lk_http_request_duration_seconds",
    "lk_consumer_lag",
    "lk_dead_letters",
    "lk_dead_letters_parked",
}


def scrape(url: str) -> dict[str, list[Sample]]:
    answer = httpx.get(url + "/metrics", timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    found: dict[str, list[Sample]] = {}
    for family in text_string_to_metric_families(answer.text):
        found.setdefault(family.name, []).extend(family.samples)
    return found


def test_metrics_on_each_service_port_and_never_through_the_public_entry(
    system: System, person: Person
) -> None:
    """Every service's own port answers ``/metrics`` with its families, labelled with it; the
    routes are templates, never raw paths; the public entry answers 404 for it. The gateway's
    port is the public entry in ``lk run``: there its figures are on the other ports (one
    registry for the one process), on the stack on its own port behind nginx."""
    with system.client() as http:
        register_and_confirm(system, http, person)
        headers = log_in(http, person.login, person.password)
        missing = str(uuid.uuid4())
        assert http.get(f"/api/v1/applications/{missing}", headers=headers).status_code == 404
        for path in ("/metrics", "/metrics/", "/api/v1/metrics", "/METRICS"):
            assert http.get(path, follow_redirects=True).status_code == 404, path
    settings = system.settings
    ports = [s for s in OWN_FAMILIES if s != "gateway" or system.mode == "stack"]
    seen: dict[str, dict[str, list[Sample]]] = {s: scrape(settings.url_of(s)) for s in ports}
    for service in ports:
        got = seen[service]
        assert EVERY_SERVICE | OWN_FAMILIES[service] <= set(got), (service, sorted(got))
        for name in OWN_FAMILIES[service]:
            assert any(s.labels.get("service") == service for s in got[name]), (service, name)
        assert any(s.labels.get("service") == service for s in got["lk_consumer_lag"]), service
    # Requests by route template and status, with their latency.
    identity = seen["identity"]
    assert any(
        s.labels == {"service": "identity", "method": "POST", "route": "/api/v1/accounts", "status": "201"}
        and s.value >= 1
        for s in identity["lk_http_requests"]
        if s.name == "lk_http_requests_total"
    )
    assert any(
        s.name == "lk_http_request_duration_seconds_count" and s.labels.get("route") == "/api/v1/sessions"
        for s in identity["lk_http_request_duration_seconds"]
    )
    applications = seen["applications"]["lk_http_requests"]
    assert any(
        s.labels.get("route") == "/api/v1/applications/{application_id}" and s.labels.get("status") == "404"
        for s in applications
    )
    assert not any(missing in str(s.labels) for got in seen.values() for f in got.values() for s in f)
    # The gateway's own figures: on its port on the stack, on the others' in one process.
    gateway = seen["gateway"] if system.mode == "stack" else seen["identity"]
    assert any(s.labels.get("service") == "gateway" for s in gateway["lk_http_requests"])
