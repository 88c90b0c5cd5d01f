"""The pieces around the deadlines on the page: the profile from the catalog type, the invoice's
due date recorded with the offer by the app's clock (44-ФЗ buyers included), an offer stored
before ``state_buyer`` existed, and ``lk ops calendar``."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from eventsourcing.persistence import StoredEvent
from typer.testing import CliRunner

from services.applications.app import ApplicationsApp
from services.applications.calendar import WorkCalendar
from services.applications.cli import calendar_report
from services.applications.deadlines import PowerClass
from services.applications.domain import Application
from services.applications.public import make_mapper
from services.applications.schedule import is_individual, profile_of
from services.applications.steps import Offer
from shared.cli import cli
from shared.process_events import OfferPlacedV1
from shared.settings import Settings
from tests.unit.test_applications_process import STAFF, STAFF_FILES, in_work, offer


@pytest.fixture
def app(tmp_path: Path) -> ApplicationsApp:
    instance = ApplicationsApp(
        Settings(var_dir=tmp_path, secret_key="k" * 40), env={"PERSISTENCE_MODULE": "eventsourcing.popo"}
    )
    instance.seed_catalog()
    return instance


def place(app: ApplicationsApp, claim_id: uuid.UUID, placed: Offer) -> Application:
    """Staff place ``placed`` with the invoice's due date the route gives (app.offer_due)."""
    claim, _ = app.act(
        claim_id, STAFF, lambda c: c.place_offer(STAFF, placed, STAFF_FILES, app.offer_due(c, placed))
    )
    return claim


def test_the_profile_follows_the_type() -> None:
    assert is_individual("individual_15kw", {}) and not is_individual("legal_150kw", {})
    assert not is_individual("individual_15kw", {"applicant_kinds": ["individual", "entrepreneur"]})
    assert is_individual("microgeneration_150kw", {"applicant_kinds": ["individual"]})
    rules = {"contract": {"working_days": 5}}
    household = profile_of("individual_15kw", {"deadlines": rules}, 12.5)
    assert (household.power_class, household.rules, household.state_buyer) == (
        PowerClass.INDIVIDUAL_15,
        rules,
        False,
    )
    assert profile_of("legal_150kw", {}, 12.5, True).power_class is PowerClass.UP_TO_150
    assert profile_of("legal_150kw", {}, 12.5, True).state_buyer


def test_the_offer_records_the_payment_deadline_by_the_app_s_clock(app: ApplicationsApp) -> None:
    """Placed on 29.12.2026 (Moscow): 5 working days → 14.01.2027, 15 for a 44-ФЗ buyer →
    28.01.2027; the status's due date is the same day."""
    app.clock = lambda: datetime(2026, 12, 29, 9, tzinfo=UTC)
    for buyer, due in ((False, "2027-01-14"), (True, "2027-01-28")):
        claim_id = in_work(app)
        claim = place(app, claim_id, replace(offer(), state_buyer=buyer))
        assert (claim.status, claim.due, claim.offer and claim.offer["state_buyer"]) == (
            "contract",
            due,
            buyer,
        )
        events = list(app.repository.event_store.get(claim_id))
        public = make_mapper(app)(events[-2])
        assert isinstance(public, OfferPlacedV1)
        assert (public.invoice_due, public.state_buyer) == (due, buyer)


def test_a_signed_offer_is_due_in_its_signature_term(app: ApplicationsApp) -> None:
    app.clock = lambda: datetime(2026, 12, 29, 9, tzinfo=UTC)
    claim_id = in_work(app, type_code="legal_150_670kw", power=400)
    claim = place(app, claim_id, offer(signature=True))
    assert claim.due == WorkCalendar().add_working_days(date(2026, 12, 29), 10).isoformat() == "2027-01-21"


def test_an_offer_stored_before_state_buyer_loads_as_not_one(app: ApplicationsApp, tmp_path: Path) -> None:
    claim_id = in_work(app)
    app.act(claim_id, STAFF, lambda c: c.place_offer(STAFF, offer(), STAFF_FILES, "2027-01-14"))
    older = ApplicationsApp(
        Settings(var_dir=tmp_path / "old", secret_key="k" * 40),
        env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
    )
    stored = []
    for event in app.repository.event_store.get(claim_id):
        record = app.mapper.to_stored_event(event)
        state = json.loads(record.state)
        if record.topic.endswith("Application.OfferPlaced"):
            assert state.pop("state_buyer") is False
        stored.append(
            replace(record, state=json.dumps(state).encode()) if isinstance(record, StoredEvent) else record
        )
    older.recorder.insert_events(stored)
    claim = older.find(claim_id, Application)
    assert claim is not None and claim.offer is not None and claim.offer["state_buyer"] is False
    events = list(older.repository.event_store.get(claim_id))
    public = make_mapper(older)(events[-2])
    assert isinstance(public, OfferPlacedV1) and public.state_buyer is False


def test_the_calendar_report_warns_when_two_years_pass_its_data() -> None:
    lines, warns = calendar_report(date(2026, 12, 2), WorkCalendar(known_until=2027))
    assert warns and "по 2027 год" in lines[0] and "02.12.2028" in lines[1]
    assert lines[-1].startswith("ВНИМАНИЕ") and "31.12.2027" in lines[-1]
    lines, warns = calendar_report(date(2025, 6, 1), WorkCalendar(known_until=2027))
    assert not warns and not any(line.startswith("ВНИМАНИЕ") for line in lines)
    lines, warns = calendar_report(date(2026, 2, 28), WorkCalendar(known_until=2028))  # an admin's data
    assert not warns and "по 2028 год" in lines[0]


def test_lk_ops_calendar_prints_the_years_and_exits_1_when_strict_and_short() -> None:
    _, warns = calendar_report(datetime.now(UTC).date(), WorkCalendar())
    done = CliRunner().invoke(cli, ["ops", "calendar", "--strict"])
    assert done.exit_code == (1 if warns else 0), done.output
    assert f"по {WorkCalendar().known_until} год" in done.output
    assert ("ВНИМАНИЕ" in done.output) == warns
