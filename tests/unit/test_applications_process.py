"""The process's facts drive the status (issue 12): the offer, payments, the signature, the
notice, the connection and the company's documents, on the real aggregate and command
(in-memory event store): each rule refuses with a stable code and records nothing, each fact
maps to its public event, the status change is still published on every step."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest

from services.applications.actor import Actor
from services.applications.app import ApplicationsApp, today
from services.applications.domain import Application
from services.applications.public import make_mapper
from services.applications.rules import Submission
from services.applications.steps import Offer
from shared.errors import DomainError
from shared.events import StatusChangedV1
from shared.process_events import (
    CompanyDocumentPlacedV1,
    ContractConcludedV1,
    OfferPlacedV1,
    PaymentRecordedV1,
)
from shared.settings import Settings
from tests.unit.signing import sign_as

APPLICANT = Actor("applicant-1", "consumer", "Иван Петров", "ivan@example.ru")
STRANGER = Actor("applicant-2", "consumer", "Пётр Иванов", "petr@example.ru")
STAFF = Actor("staff-1", "staff", "Сотрудник", "staff@example.ru")
STAFF_FILES = {"contract-f", "tu-f", "act-f"}
TODAY = today()


@pytest.fixture
def app(tmp_path: Path) -> ApplicationsApp:
    settings = Settings(var_dir=tmp_path, secret_key="k" * 40)
    instance = ApplicationsApp(settings, env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    instance.seed_catalog()
    return instance


def submit(app: ApplicationsApp, type_code: str = "individual_15kw", power: float = 10) -> uuid.UUID:
    claim, _ = app.submit(
        APPLICANT,
        f"ТП-2026-{uuid.uuid4().int % 1_000_000:06d}",
        Submission(
            type_code=type_code,
            power_kw=power,
            documents=[{"slot": "archive", "file_id": "zip-f"}],
            owned={"zip-f": "application/zip"},
            object_address="г. Тверь, ул. Советская, 1",
        ),
    )
    return claim.id


def offer(signature: bool = False, amount: int = 55_000) -> Offer:
    return Offer(
        contract={"slot": "offer_contract", "file_id": "contract-f", "name": "договор.pdf"},
        technical_conditions={"slot": "technical_conditions", "file_id": "tu-f", "name": "ту.pdf"},
        amount_kopecks=amount,
        term={"months": 4},
        needs_signature=signature,
    )


def in_work(app: ApplicationsApp, **kw: object) -> uuid.UUID:
    claim_id = submit(app, **kw)  # type: ignore[arg-type]
    app.transition(claim_id, STAFF, "in_work", "")
    return claim_id


def offered(app: ApplicationsApp, signature: bool = False) -> uuid.UUID:
    claim_id = in_work(app)
    app.act(claim_id, STAFF, lambda c: c.place_offer(STAFF, offer(signature), STAFF_FILES, None))
    return claim_id


def pay(
    app: ApplicationsApp, claim_id: uuid.UUID, kopecks: int, ref: str, actor: Actor = STAFF
) -> Application:
    claim, _ = app.act(claim_id, actor, lambda c: c.record_payment(actor, kopecks, TODAY, ref, TODAY, None))
    return claim


def signed(app: ApplicationsApp, claim_id: uuid.UUID, due: str | None = None) -> Application:
    return sign_as(app, APPLICANT, claim_id, due)


def refused(app: ApplicationsApp, claim_id: uuid.UUID, step: object, actor: Actor = STAFF) -> DomainError:
    """The step is refused and nothing is recorded."""
    before: int = app.repository.get(claim_id).version
    with pytest.raises(DomainError) as caught:
        app.act(claim_id, actor, step)  # type: ignore[arg-type]
    assert app.repository.get(claim_id).version == before
    return caught.value


def test_the_whole_process_by_payment(app: ApplicationsApp) -> None:
    claim_id = offered(app)
    assert app.repository.get(claim_id).status == "contract"
    assert pay(app, claim_id, 20_000, "p-1").status == "contract"  # partial: shown, not concluded
    claim = pay(app, claim_id, 35_000, "p-2")
    assert (claim.status, claim.concluded, claim.paid_kopecks) == ("activities", True, 55_000)
    notice = [{"slot": "tu_fulfilled", "file_id": "n-f", "name": "уведомление.pdf"}]
    app.act(claim_id, APPLICANT, lambda c: c.notify(APPLICANT, "tu_fulfilled", notice, {"n-f"}, None))
    assert app.repository.get(claim_id).status == "tu_check"
    day = TODAY - timedelta(days=1)
    app.act(claim_id, STAFF, lambda c: c.record_connection(STAFF, day, TODAY, TODAY, None))
    assert app.repository.get(claim_id).status == "acts"
    doc = {"slot": "act_tp", "file_id": "act-f", "name": "акт.pdf"}
    claim, _ = app.act(claim_id, STAFF, lambda c: c.place_document(STAFF, "d-1", "act_tp", doc, STAFF_FILES))
    assert claim.status == "completed"

    mapper = make_mapper(app)
    published = [mapper(e) for e in app.repository.event_store.get(claim_id)]
    statuses = [p.to_status for p in published if isinstance(p, StatusChangedV1)]
    assert statuses == ["in_work", "contract", "activities", "tu_check", "acts", "completed"]
    placed = next(p for p in published if isinstance(p, OfferPlacedV1))
    assert [d.file_id for d in placed.documents] == [
        "contract-f",
        "tu-f",
    ] and placed.actor_id == STAFF.account_id
    assert placed.applicant_id == APPLICANT.account_id and placed.activities_months == 4
    payments = [p for p in published if isinstance(p, PaymentRecordedV1)]
    assert [(p.amount_kopecks, p.paid_kopecks) for p in payments] == [(20_000, 20_000), (35_000, 55_000)]
    concluded = next(p for p in published if isinstance(p, ContractConcludedV1))
    assert (concluded.by, concluded.concluded_on) == ("payment", TODAY.isoformat())
    document = next(p for p in published if isinstance(p, CompanyDocumentPlacedV1))
    assert (document.kind, document.documents[0].file_id, document.applicant_id) == (
        "act_tp",
        "act-f",
        "applicant-1",
    )


def test_a_repeated_payment_reference_records_nothing(app: ApplicationsApp) -> None:
    claim_id = offered(app)
    version = pay(app, claim_id, 10_000, "p-1").version
    assert pay(app, claim_id, 10_000, "p-1").version == version
    error = refused(app, claim_id, lambda c: c.record_payment(STAFF, 5_000, TODAY, "p-1", TODAY, None))
    assert (error.status, error.code) == (409, "payment_reference_conflict")


@pytest.mark.parametrize(
    ("kopecks", "paid_at", "actor", "want"),
    [
        (0, TODAY, STAFF, (422, "amount_not_positive")),
        (-100, TODAY, STAFF, (422, "amount_not_positive")),
        (100, TODAY + timedelta(days=3), STAFF, (422, "date_in_future")),
        (100, TODAY, APPLICANT, (403, "forbidden")),
    ],
)
def test_bad_payments_are_refused(
    app: ApplicationsApp, kopecks: int, paid_at: date, actor: Actor, want: tuple[int, str]
) -> None:
    claim_id = offered(app)
    error = refused(
        app, claim_id, lambda c: c.record_payment(actor, kopecks, paid_at, "r", TODAY, None), actor
    )
    assert (error.status, error.code) == want


def test_payment_before_the_offer_and_someone_elses_application(app: ApplicationsApp) -> None:
    claim_id = in_work(app)
    error = refused(app, claim_id, lambda c: c.record_payment(STAFF, 100, TODAY, "r", TODAY, None))
    assert (error.status, error.code) == (409, "no_invoice")
    error = refused(
        app, claim_id, lambda c: c.record_payment(STRANGER, 100, TODAY, "r", TODAY, None), STRANGER
    )
    assert (error.status, error.code) == (404, "not_found")


def test_an_offer_only_on_a_complete_application(app: ApplicationsApp) -> None:
    claim_id = submit(app)
    error = refused(app, claim_id, lambda c: c.place_offer(STAFF, offer(), STAFF_FILES, None))
    assert (error.status, error.code) == (409, "offer_not_allowed")
    claim_id = in_work(app)
    error = refused(app, claim_id, lambda c: c.place_offer(STAFF, offer(), {"contract-f"}, None))
    assert (error.status, error.code) == (422, "file_not_found")
    error = refused(app, claim_id, lambda c: c.place_offer(STAFF, offer(amount=0), STAFF_FILES, None))
    assert (error.status, error.code) == (422, "amount_not_positive")
    error = refused(app, claim_id, lambda c: c.place_offer(APPLICANT, offer(), STAFF_FILES, None), APPLICANT)
    assert (error.status, error.code) == (403, "forbidden")
    offered_id = offered(app)
    error = refused(app, offered_id, lambda c: c.place_offer(STAFF, offer(), STAFF_FILES, None))
    assert (error.status, error.code) == (409, "offer_not_allowed")


def test_signature_concludes_and_refusal_keeps_the_status(app: ApplicationsApp) -> None:
    claim_id = offered(app, signature=True)
    claim = pay(app, claim_id, 55_000, "p-1")
    assert (claim.status, claim.concluded) == ("contract", False)  # paid, but it must be signed
    error = refused(app, claim_id, lambda c: c.decide(APPLICANT, False, "  ", TODAY, None), APPLICANT)
    assert (error.status, error.code) == (422, "reason_required")
    error = refused(app, claim_id, lambda c: c.decide(STAFF, True, "", TODAY, None))
    assert (error.status, error.code) == (403, "forbidden")
    claim, _ = app.act(
        claim_id, APPLICANT, lambda c: c.decide(APPLICANT, False, "Не та мощность", TODAY, None)
    )
    assert (claim.status, claim.refused) == ("contract", True)
    error = refused(app, claim_id, lambda c: c.decide(APPLICANT, True, "", TODAY, None), APPLICANT)
    assert (error.status, error.code) == (409, "offer_refused")
    # Staff place a new offer after the refusal; the applicant signs it.
    app.act(claim_id, STAFF, lambda c: c.place_offer(STAFF, offer(True), STAFF_FILES, None))
    error = refused(app, claim_id, lambda c: c.decide(APPLICANT, True, "", TODAY, None), APPLICANT)
    assert (error.status, error.code) == (422, "signature_code_required")  # only with the e-mail code
    claim = signed(app, claim_id, "2027-01-01")
    assert (claim.status, claim.concluded, claim.due) == ("activities", True, "2027-01-01")


def test_an_offer_without_signature_cannot_be_signed(app: ApplicationsApp) -> None:
    claim_id = offered(app)
    error = refused(app, claim_id, lambda c: c.decide(APPLICANT, True, "", TODAY, None), APPLICANT)
    assert (error.status, error.code) == (409, "signature_not_needed")
    error = refused(app, in_work(app), lambda c: c.decide(APPLICANT, True, "", TODAY, None), APPLICANT)
    assert (error.status, error.code) == (409, "offer_not_placed")


def test_notice_only_after_conclusion_by_the_applicant(app: ApplicationsApp) -> None:
    claim_id = offered(app)
    notice = [{"slot": "tu_fulfilled", "file_id": "n-f", "name": ""}]
    error = refused(
        app, claim_id, lambda c: c.notify(APPLICANT, "tu_fulfilled", notice, {"n-f"}, None), APPLICANT
    )
    assert (error.status, error.code) == (409, "contract_not_concluded")
    pay(app, claim_id, 55_000, "p")
    error = refused(
        app, claim_id, lambda c: c.notify(APPLICANT, "tu_fulfilled", notice, set(), None), APPLICANT
    )
    assert (error.status, error.code) == (422, "file_not_found")
    error = refused(app, claim_id, lambda c: c.notify(STAFF, "tu_fulfilled", notice, {"n-f"}, None))
    assert (error.status, error.code) == (403, "forbidden")


def test_connection_and_closing_documents_in_order(app: ApplicationsApp) -> None:
    claim_id = offered(app)
    pay(app, claim_id, 55_000, "p")
    error = refused(app, claim_id, lambda c: c.record_connection(STAFF, TODAY, TODAY, TODAY, None))
    assert (error.status, error.code) == (409, "connection_not_allowed")
    doc = {"slot": "act_tp", "file_id": "act-f", "name": ""}
    error = refused(app, claim_id, lambda c: c.place_document(STAFF, "d", "act_tp", doc, STAFF_FILES))
    assert (error.status, error.code) == (409, "not_connected")
    error = refused(app, claim_id, lambda c: c.place_document(STAFF, "d", "nonsense", doc, STAFF_FILES))
    assert (error.status, error.code) == (422, "unknown_document_kind")
    notice = [{"slot": "tu_fulfilled", "file_id": "n-f", "name": ""}]
    app.act(claim_id, APPLICANT, lambda c: c.notify(APPLICANT, "tu_fulfilled", notice, {"n-f"}, None))
    late = TODAY - timedelta(days=2)
    error = refused(app, claim_id, lambda c: c.record_connection(STAFF, TODAY, late, TODAY, None))
    assert (error.status, error.code) == (422, "voltage_before_connection")
    # A meter act may be placed before the closing documents; it completes nothing.
    meter = {"slot": "act_meter", "file_id": "act-f", "name": ""}
    claim, _ = app.act(
        claim_id, STAFF, lambda c: c.place_document(STAFF, "m", "act_meter", meter, STAFF_FILES)
    )
    assert claim.status == "tu_check"
    version = claim.version
    claim, _ = app.act(
        claim_id, STAFF, lambda c: c.place_document(STAFF, "m", "act_meter", meter, STAFF_FILES)
    )
    assert claim.version == version  # the same document again: nothing recorded
    error = refused(app, claim_id, lambda c: c.place_document(STAFF, "m", "act_tu", meter, STAFF_FILES))
    assert (error.status, error.code) == (409, "document_id_taken")


def test_plain_transitions_refuse_the_stages_entered_by_facts(app: ApplicationsApp) -> None:
    """A stage of the process follows its fact: a plain move there is refused, naming the
    action, and records nothing; what needs no fact stays a plain move."""
    claim_id = submit(app)
    actions = {
        "contract": "размещает договор",
        "activities": "полной оплатой счёта или подписью",
        "tu_check": "уведомление о выполнении технических условий",
        "acts": "фактическое присоединение",
        "completed": "закрывающие документы",
    }
    for step, action in actions.items():
        with pytest.raises(DomainError) as caught:
            app.transition(claim_id, STAFF, step, "")
        assert (caught.value.status, caught.value.code) == (409, "fact_required")
        assert (
            caught.value.message.startswith("Этот этап наступает по факту:")
            and action in caught.value.message
        )
    assert app.repository.get(claim_id).version == 1
    claim, _ = app.transition(claim_id, STAFF, "needs_documents", "Нужен план участка")
    claim, _ = app.transition(claim_id, STAFF, "in_work", "")
    assert claim.status == "in_work"
    with pytest.raises(DomainError) as caught:  # documents are requested within the check only
        app.transition(claim_id, STAFF, "needs_documents", "Ещё план")
    assert (caught.value.status, caught.value.code) == (409, "transition_not_allowed")


def test_no_withdrawal_after_conclusion(app: ApplicationsApp) -> None:
    claim_id = offered(app)
    pay(app, claim_id, 55_000, "p")
    with pytest.raises(DomainError) as caught:
        app.transition(claim_id, APPLICANT, "annulled", "")
    assert (caught.value.status, caught.value.code) == (409, "contract_concluded")
    claim, _ = app.transition(claim_id, STAFF, "annulled", "Договор расторгнут по заявлению")
    assert claim.status == "annulled"
    before_conclusion = offered(app)
    claim, _ = app.transition(before_conclusion, APPLICANT, "annulled", "")
    assert claim.status == "annulled"
