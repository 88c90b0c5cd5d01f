"""Every allowed and every forbidden transition for each role, on the real aggregate and
command (in-memory event store), plus deadlines on the production calendar."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from services.applications.actor import Actor
from services.applications.app import ApplicationsApp, iso, today
from services.applications.calendar import WorkCalendar
from services.applications.domain import Application
from services.applications.rules import Submission
from services.applications.steps import Offer
from shared.errors import DomainError
from shared.settings import Settings
from shared.statuses import FINAL, FORWARD
from shared.statuses import TITLES as STATUS_TITLES

APPLICANT = Actor("applicant-1", "consumer", "Иван Петров", "ivan@example.ru")
STRANGER = Actor("applicant-2", "consumer", "Пётр Иванов", "petr@example.ru")
STAFF = Actor("staff-1", "staff", "Сотрудник", "staff@example.ru")

# How to reach each status from «Подана»: a plain move, or the facts of the process.
PLAIN = {
    "submitted": [],
    "in_work": ["in_work"],
    "needs_documents": ["needs_documents"],
    "annulled": ["annulled"],
}
STAFF_FILES = {"contract-f", "tu-f", "act-f"}
OFFER = Offer(
    contract={"slot": "offer_contract", "file_id": "contract-f", "name": "договор.pdf"},
    technical_conditions={"slot": "technical_conditions", "file_id": "tu-f", "name": "ту.pdf"},
    amount_kopecks=55_000,
    term={"months": 4},
    needs_signature=False,
)
FACTS_IN_ORDER: list[tuple[str, Callable[[Application], object]]] = [
    ("contract", lambda c: c.place_offer(STAFF, OFFER, STAFF_FILES, None)),
    ("activities", lambda c: c.record_payment(STAFF, 55_000, today(), "p-1", today(), None)),
    (
        "tu_check",
        lambda c: c.notify(
            APPLICANT,
            "tu_fulfilled",
            [{"slot": "tu_fulfilled", "file_id": "n-f", "name": "у.pdf"}],
            {"n-f"},
            None,
        ),
    ),
    ("acts", lambda c: c.record_connection(STAFF, today(), today(), today(), None)),
    (
        "completed",
        lambda c: c.place_document(
            STAFF, "d-1", "act_tp", {"slot": "act_tp", "file_id": "act-f", "name": "акт.pdf"}, STAFF_FILES
        ),
    ),
]
CONCLUDED = {"activities", "tu_check", "acts", "completed"}


def expected(role: str, current: str, target: str) -> tuple[int, str]:
    """The rules of DOMAIN.md and issues 5 and 12, stated independently of the code under test:
    a plain move is only what needs no fact."""
    if current in FINAL:
        return 409, "transition_not_allowed"
    if target == "annulled":
        if role == "consumer" and current in CONCLUDED:
            return 409, "contract_concluded"  # terminated, not withdrawn
        return 200, ""
    if role == "consumer":
        return 403, "forbidden"
    if target in FORWARD[2:]:
        return 409, "fact_required"
    if (current, target) in {
        ("submitted", "needs_documents"),
        ("submitted", "in_work"),
        ("needs_documents", "in_work"),
    }:
        return 200, ""
    return 409, "transition_not_allowed"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> ApplicationsApp:
    settings = Settings(var_dir=Path(tmp_path_factory.mktemp("apps")), secret_key="k" * 40)
    instance = ApplicationsApp(settings, env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    instance.seed_catalog()
    return instance


def submit(app: ApplicationsApp) -> uuid.UUID:
    claim, _ = app.submit(
        APPLICANT,
        f"ТП-2026-{uuid.uuid4().int % 1_000_000:06d}",
        Submission(
            type_code="individual_15kw",
            power_kw=10,
            object_address="г. Тверь, ул. Советская, 1",
            contact_phone="+7 900 000-00-00",
            contact_email="ivan@example.ru",
            comment="",
            documents=[{"slot": "archive", "file_id": "f1"}],
            owned={"f1": "application/zip"},
        ),
    )
    return claim.id


def reach(app: ApplicationsApp, status: str) -> uuid.UUID:
    claim_id = submit(app)
    if status in PLAIN:
        for step in PLAIN[status]:
            app.transition(claim_id, STAFF, step, "причина")
        return claim_id
    app.transition(claim_id, STAFF, "in_work", "")
    for reached, fact in FACTS_IN_ORDER:
        app.act(claim_id, STAFF, fact)
        if reached == status:
            break
    assert app.repository.get(claim_id).status == status
    return claim_id


CASES = [
    (role, current, target)
    for role in ("staff", "consumer")
    for current in STATUS_TITLES
    for target in STATUS_TITLES
    if target != current
]


@pytest.mark.parametrize(("role", "current", "target"), CASES)
def test_transition_matrix(app: ApplicationsApp, role: str, current: str, target: str) -> None:
    claim_id = reach(app, current)
    actor = STAFF if role == "staff" else APPLICANT
    want, code = expected(role, current, target)
    if want == 200:
        claim, position = app.transition(claim_id, actor, target, "причина")
        assert claim.status == target and position > 0
    else:
        with pytest.raises(DomainError) as caught:
            app.transition(claim_id, actor, target, "причина")
        assert (caught.value.status, caught.value.code) == (want, code)
        assert app.repository.get(claim_id).status == current  # nothing changed


def test_someone_elses_application_does_not_exist(app: ApplicationsApp) -> None:
    claim_id = submit(app)
    with pytest.raises(DomainError) as caught:
        app.transition(claim_id, STRANGER, "annulled", "")
    assert caught.value.status == 404


def test_staff_must_give_a_reason(app: ApplicationsApp) -> None:
    claim_id = submit(app)
    for target in ("annulled", "needs_documents"):
        with pytest.raises(DomainError) as caught:
            app.transition(claim_id, STAFF, target, "  ")
        assert caught.value.code == "reason_required"
    claim, _ = app.transition(claim_id, APPLICANT, "annulled", "")
    assert claim.status == "annulled"


def test_stale_version_is_a_conflict(app: ApplicationsApp) -> None:
    claim_id = submit(app)
    app.transition(claim_id, STAFF, "in_work", "", expected_version=1)
    with pytest.raises(DomainError) as caught:
        app.transition(claim_id, STAFF, "needs_documents", "нужен план", expected_version=1)
    assert caught.value.status == 409 and caught.value.code == "version_conflict"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"type_code": "nope"}, "unknown_type"),
        ({"power_kw": 16}, "power_exceeds_limit"),
        ({"documents": [{"slot": "site_plan", "file_id": "f1"}]}, "documents_missing"),
        ({"documents": [{"slot": "archive", "file_id": "other"}]}, "file_not_found"),
        ({"documents": [{"slot": "archive", "file_id": "pdf"}]}, "archive_expected"),
        ({"documents": [{"slot": "bogus", "file_id": "f1"}]}, "unknown_slot"),
    ],
)
def test_submission_rules(app: ApplicationsApp, change: dict[str, object], code: str) -> None:
    args: dict[str, Any] = {
        "type_code": "individual_15kw",
        "power_kw": 10,
        "object_address": "г. Тверь",
        "contact_phone": "+7 900",
        "contact_email": "ivan@example.ru",
        "comment": "",
        "documents": [{"slot": "archive", "file_id": "f1"}],
        "owned": {"f1": "application/zip", "pdf": "application/pdf"},
        **change,
    }
    with pytest.raises(DomainError) as caught:
        app.submit(APPLICANT, "ТП-2026-999999", Submission(**args))
    assert caught.value.code == code


def test_all_required_slots_instead_of_an_archive(app: ApplicationsApp) -> None:
    required = ["application_form", "site_plan", "title_document", "identity_document"]
    claim, _ = app.submit(
        APPLICANT,
        "ТП-2026-888888",
        Submission(
            type_code="individual_15kw",
            power_kw=15,
            object_address="г. Тверь",
            contact_phone="+7 900",
            contact_email="ivan@example.ru",
            comment="",
            documents=[{"slot": slot, "file_id": slot} for slot in required],
            owned={slot: "application/pdf" for slot in required},
        ),
    )
    assert claim.status == "submitted" and len(claim.documents) == 4


def test_working_days_skip_the_new_year_holidays_and_transfers() -> None:
    calendar = WorkCalendar()
    assert calendar.add_working_days(date(2025, 12, 30), 3) == date(2026, 1, 14)  # 31.12 and 1–9.01 are off
    assert calendar.is_working_day(date(2025, 11, 1))  # a working Saturday (transfer)
    assert not calendar.is_working_day(date(2025, 11, 3))  # the day off it was moved to
    assert calendar.working_days_between(date(2026, 1, 1), date(2026, 1, 31)) == 15
    assert calendar.working_days_between(date(2026, 1, 31), date(2026, 1, 1)) == -15
    assert WorkCalendar.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    extra = WorkCalendar(frozenset({date(2026, 1, 12)}))
    assert extra.add_working_days(date(2025, 12, 30), 3) == date(2026, 1, 15)  # a regional day off


def test_deadline_rules_are_data(app: ApplicationsApp) -> None:
    start = date(2025, 12, 30)
    assert app.due_for("individual_15kw", "in_work", start) == WorkCalendar().add_working_days(start, 10)
    assert app.due_for("individual_15kw", "activities", start) == date(2026, 4, 30)
    assert app.due_for("individual_15kw", "completed", start) is None


def test_requested_documents_return_the_application_to_work(app: ApplicationsApp) -> None:
    """The term of «В работе» runs from the upload of the missing documents (DOMAIN.md)."""
    claim_id = reach(app, "needs_documents")
    documents = [{"slot": "site_plan", "file_id": "f2", "name": "План.pdf"}]
    claim, _ = app.add_documents(claim_id, APPLICANT, documents, {"f2": "application/pdf"})
    assert claim.status == "in_work"
    assert claim.due == iso(app.due_for("individual_15kw", "in_work", today()))
    events = list(app.repository.event_store.get(claim_id))
    assert [type(e).__qualname__ for e in events[-2:]] == [
        "Application.DocumentsAdded",
        "Application.StatusChanged",
    ]
    last = events[-1]
    assert isinstance(last, Application.StatusChanged)
    assert (last.from_status, last.actor_role) == ("needs_documents", "consumer")
    with pytest.raises(DomainError) as caught:  # once is enough: nothing is requested any more
        app.add_documents(claim_id, APPLICANT, documents, {"f2": "application/pdf"})
    assert caught.value.code == "documents_not_requested"


def test_a_submission_is_checked_whole_before_a_number_is_taken(app: ApplicationsApp) -> None:
    for change, code in (
        ({"type_code": "nope"}, "unknown_type"),
        ({"power_kw": 16.0}, "power_exceeds_limit"),
        ({"documents": [{"slot": "application_form", "file_id": "f1"}]}, "documents_missing"),
        ({"documents": [{"slot": "archive", "file_id": "f9"}]}, "file_not_found"),
    ):
        args: dict[str, Any] = {
            "type_code": "individual_15kw",
            "power_kw": 10.0,
            "documents": [{"slot": "archive", "file_id": "f1"}],
            "owned": {"f1": "application/zip"},
        } | change
        with pytest.raises(DomainError) as caught:
            app.check_submission(APPLICANT, Submission(**args))
        assert caught.value.code == code
