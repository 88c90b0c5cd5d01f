"""The simple electronic signature (ПЭП) by a one-time e-mail code, on the real aggregate and
command (in-memory event store) with the clock moved by hand: the code's derivation is
stable, a wrong, reused, expired or missing code is refused (only a wrong one is recorded, as
a failed attempt), five wrong codes spend a challenge, a new challenge supersedes the old one,
requests are limited; no event holds the code; the notifier mails the code it derives."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from eventsourcing.persistence import StoredEvent

from services.applications.app import ApplicationsApp
from services.applications.domain import Application
from services.applications.public import make_mapper
from services.notifier.signature_mail import SignatureMail
from shared.errors import DomainError
from shared.events import Envelope
from shared.process_events import ContractConcludedV1, SignatureCodeFailedV1, SignatureCodeIssuedV1
from shared.readstore import SQLiteReadStore
from shared.settings import Settings
from shared.signature_code import code_matches, signature_code, signature_key
from tests.unit.signing import KEY
from tests.unit.test_applications_process import (
    APPLICANT,
    STAFF,
    STAFF_FILES,
    STRANGER,
    offer,
    offered,
    refused,
)

T0 = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
SHA = "5f" * 32


@pytest.fixture
def app(tmp_path: Path) -> ApplicationsApp:
    settings = Settings(var_dir=tmp_path, secret_key="k" * 40)
    instance = ApplicationsApp(settings, env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    instance.seed_catalog()
    return instance


def ask(app: ApplicationsApp, claim_id: uuid.UUID, now: datetime) -> str:
    """A new challenge at ``now``; its code, as the notifier derives it."""
    challenge_id = str(uuid.uuid4())
    app.act(
        claim_id, APPLICANT, lambda c: c.request_signature_code(APPLICANT, challenge_id, SHA, now, 900, 60)
    )
    return signature_code(KEY, str(claim_id), challenge_id)


def attempt(app: ApplicationsApp, claim_id: uuid.UUID, code: str | None, now: datetime) -> DomainError | None:
    """One signing attempt; a refusal returned (a wrong code: saved first) or raised."""
    outcome: list[DomainError | None] = []
    try:
        app.act(
            claim_id,
            APPLICANT,
            lambda c: outcome.append(c.sign(APPLICANT, code, KEY, now, "198.51.100.7", None)),
        )
    except DomainError as error:
        return error
    return outcome[0]


def version(app: ApplicationsApp, claim_id: uuid.UUID) -> int:
    return int(app.repository.get(claim_id).version)


def test_the_code_is_derived_stably_and_bound_to_its_challenge() -> None:
    key = signature_key("s" * 40)
    assert signature_key("s" * 40) == key != signature_key("t" * 40)
    code = signature_code(key, "app-1", "challenge-1")
    assert len(code) == 6 and code.isdigit()
    assert code == signature_code(signature_key("s" * 40), "app-1", "challenge-1") == "547247"
    others = {signature_code(key, "app-1", f"challenge-{n}") for n in range(2, 40)}
    assert len(others) > 30 and signature_code(key, "app-2", "challenge-1") == "419370"
    assert code_matches(key, "app-1", "challenge-1", f"{code[:3]} {code[3:]}")
    assert not code_matches(key, "app-1", "challenge-1", "")


def test_signed_with_the_code_and_recorded_with_hash_time_and_address(app: ApplicationsApp) -> None:
    claim_id = offered(app, signature=True)
    code = ask(app, claim_id, T0)
    assert attempt(app, claim_id, code, T0 + timedelta(minutes=3)) is None
    claim: Application = app.repository.get(claim_id)
    assert (claim.status, claim.concluded) == ("activities", True)
    mapper = make_mapper(app)
    published = [mapper(e) for e in app.repository.event_store.get(claim_id)]
    issued = next(p for p in published if isinstance(p, SignatureCodeIssuedV1))
    assert (issued.document.file_id, issued.document_sha256, issued.applicant_email) == (
        "contract-f",
        SHA,
        APPLICANT.email,
    )
    assert issued.expires_at == T0 + timedelta(minutes=15)
    concluded = next(p for p in published if isinstance(p, ContractConcludedV1))
    assert concluded.by == "signature" and concluded.signature is not None
    signature = concluded.signature
    assert (signature.file_id, signature.document_sha256, signature.client_address) == (
        "contract-f",
        SHA,
        "198.51.100.7",
    )
    assert (signature.challenge_id, signature.signed_at) == (issued.challenge_id, T0 + timedelta(minutes=3))
    # No event, stored or public, holds the code (nor any field named like one).
    for event in app.repository.event_store.get(claim_id):
        state = json.loads(app.mapper.to_stored_event(event).state)
        state.pop("timestamp")
        assert not {k for k in state if "code" in k} - {"type_code"}
        assert code not in json.dumps(state)
    for public in published:
        assert public is not None and code not in public.model_dump_json(exclude={"expires_at"})


def test_wrong_reused_expired_and_missing_codes(app: ApplicationsApp) -> None:
    claim_id = offered(app, signature=True)
    error = refused(app, claim_id, lambda c: c.sign(APPLICANT, "123456", KEY, T0, "", None), APPLICANT)
    assert (error.status, error.code) == (409, "signature_code_missing")
    code = ask(app, claim_id, T0)
    wrong = "000000" if code != "000000" else "111111"
    before = version(app, claim_id)
    wrong_one = attempt(app, claim_id, wrong, T0)
    assert wrong_one is not None and (wrong_one.status, wrong_one.code) == (422, "signature_code_wrong")
    assert "Осталось попыток: 4" in wrong_one.message
    claim: Application = app.repository.get(claim_id)
    challenge = claim.signature_challenge
    assert challenge is not None and (claim.version, claim.status, challenge["failures"]) == (
        before + 1,
        "contract",
        1,
    )
    failed = make_mapper(app)(list(app.repository.event_store.get(claim_id))[-1])
    assert isinstance(failed, SignatureCodeFailedV1) and failed.attempts_left == 4
    error = refused(app, claim_id, lambda c: c.sign(APPLICANT, None, KEY, T0, "", None), APPLICANT)
    assert (error.status, error.code) == (422, "signature_code_required")
    late = T0 + timedelta(minutes=15)
    error = refused(app, claim_id, lambda c: c.sign(APPLICANT, code, KEY, late, "", None), APPLICANT)
    assert (error.status, error.code) == (422, "signature_code_expired")
    error = refused(app, claim_id, lambda c: c.sign(STAFF, code, KEY, T0, "", None))
    assert (error.status, error.code) == (403, "forbidden")
    error = refused(app, claim_id, lambda c: c.sign(STRANGER, code, KEY, T0, "", None), STRANGER)
    assert (error.status, error.code) == (404, "not_found")
    assert attempt(app, claim_id, code, T0 + timedelta(minutes=14)) is None
    error = refused(app, claim_id, lambda c: c.sign(APPLICANT, code, KEY, T0, "", None), APPLICANT)
    assert (error.status, error.code) == (409, "signature_code_used")
    error = refused(
        app, claim_id, lambda c: c.request_signature_code(APPLICANT, "x", SHA, late, 900, 60), APPLICANT
    )
    assert (error.status, error.code) == (409, "offer_not_placed")


def test_five_wrong_codes_spend_the_challenge_and_a_new_one_supersedes_it(app: ApplicationsApp) -> None:
    claim_id = offered(app, signature=True)
    first = ask(app, claim_id, T0)
    wrong = "000000" if first != "000000" else "111111"
    messages = []
    for n in range(5):
        failed = attempt(app, claim_id, wrong, T0 + timedelta(seconds=n))
        assert failed is not None and failed.code == "signature_code_wrong"
        messages.append(failed.message)
    assert "Осталось попыток: 1" in messages[3] and "Попытки исчерпаны" in messages[4]
    error = refused(app, claim_id, lambda c: c.sign(APPLICANT, first, KEY, T0, "", None), APPLICANT)
    assert (error.status, error.code) == (409, "signature_code_spent")  # even the right code
    error = refused(
        app,
        claim_id,
        lambda c: c.request_signature_code(APPLICANT, "y", SHA, T0 + timedelta(seconds=30), 900, 60),
        APPLICANT,
    )
    assert (error.status, error.code, error.retry_after) == (429, "signature_code_too_soon", 31)
    second = ask(app, claim_id, T0 + timedelta(minutes=1))
    if first != second:  # the old code no longer signs: it is a wrong one for the new challenge
        old = attempt(app, claim_id, first, T0 + timedelta(minutes=2))
        assert old is not None and old.code == "signature_code_wrong"
    assert attempt(app, claim_id, second, T0 + timedelta(minutes=2)) is None


def test_wrong_codes_across_challenges_are_capped_per_day(app: ApplicationsApp) -> None:
    claim_id = offered(app, signature=True)
    at = T0
    for _ in range(3):
        code = ask(app, claim_id, at)
        wrong = "000000" if code != "000000" else "111111"
        for _ in range(5):
            attempt(app, claim_id, wrong, at)
        at += timedelta(minutes=2)
    error = refused(
        app, claim_id, lambda c: c.request_signature_code(APPLICANT, "z", SHA, at, 900, 60), APPLICANT
    )
    assert (error.status, error.code) == (429, "signature_codes_exhausted")
    assert error.retry_after is not None and 0 < error.retry_after <= 24 * 3600
    code = ask(app, claim_id, T0 + timedelta(days=1, seconds=1))  # the first wrong codes are a day old
    assert attempt(app, claim_id, code, T0 + timedelta(days=1, seconds=2)) is None


def test_a_new_offer_voids_the_code_issued_for_the_last_one(app: ApplicationsApp) -> None:
    claim_id = offered(app, signature=True)
    code = ask(app, claim_id, T0)
    app.act(claim_id, APPLICANT, lambda c: c.decide(APPLICANT, False, "Не та мощность", T0.date(), None))
    app.act(claim_id, STAFF, lambda c: c.place_offer(STAFF, offer(True), STAFF_FILES, None))
    error = refused(app, claim_id, lambda c: c.sign(APPLICANT, code, KEY, T0, "", None), APPLICANT)
    assert (error.status, error.code) == (409, "signature_code_missing")
    error = refused(
        app, offered(app), lambda c: c.request_signature_code(APPLICANT, "w", SHA, T0, 900, 60), APPLICANT
    )
    assert (error.status, error.code) == (409, "signature_not_needed")


def test_a_contract_concluded_before_signatures_were_recorded_still_loads(app: ApplicationsApp) -> None:
    claim_id = offered(app, signature=False)
    app.act(claim_id, STAFF, lambda c: c.record_payment(STAFF, 55_000, T0.date(), "p", T0.date(), None))
    stored = [app.mapper.to_stored_event(e) for e in app.repository.event_store.get(claim_id)]
    old = []
    for record in stored:
        state = json.loads(record.state)
        if record.topic.endswith("Application.ContractConcluded"):
            assert state.pop("signature") is None  # what the code before wrote: no such field
        old.append(
            StoredEvent(
                record.originator_id, record.originator_version, record.topic, json.dumps(state).encode()
            )
        )
    fresh = ApplicationsApp(app.settings, env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    fresh.recorder.insert_events(old)
    claim = fresh.find(claim_id, Application)
    assert claim is not None and claim.concluded and claim.status == "activities"
    concluded = [make_mapper(fresh)(e) for e in fresh.repository.event_store.get(claim_id)]
    public = next(p for p in concluded if isinstance(p, ContractConcludedV1))
    assert (public.by, public.signature) == ("payment", None)


def test_the_notifier_mails_the_code_once_and_never_a_stale_one(app: ApplicationsApp, tmp_path: Path) -> None:
    claim_id = offered(app, signature=True)
    now = datetime.now(UTC)
    code = ask(app, claim_id, now)
    events = list(app.repository.event_store.get(claim_id))
    issued = make_mapper(app)(events[-1])
    assert isinstance(issued, SignatureCodeIssuedV1)
    envelope = issued.envelope(source="applications", subject=str(claim_id), sequence=len(events), position=9)

    async def outbox(clock: datetime) -> list[dict[str, object]]:
        store = SQLiteReadStore(tmp_path / f"mail-{clock.timestamp()}.sqlite")
        await store.open()
        try:
            mail = SignatureMail("k" * 40, "http://lk.example", clock=lambda: clock)
            await store.migrate(mail.ddl)
            for _ in range(2):  # redelivered: one e-mail
                async with store.transaction() as tx:
                    await mail.handle(tx, Envelope.from_bytes(envelope.to_bytes()))
            return [
                dict(r)
                for r in await store.fetch("SELECT recipient, subject, body_text FROM notifier_outbox")
            ]
        finally:
            await store.close()

    rows = asyncio.run(outbox(now))
    assert len(rows) == 1 and rows[0]["recipient"] == APPLICANT.email
    text = str(rows[0]["body_text"])
    assert f": {code}. Действует до " in text and "Никому не сообщайте код." in text
    assert code not in str(rows[0]["subject"])
    assert asyncio.run(outbox(now + timedelta(minutes=16))) == []  # expired before it was read
