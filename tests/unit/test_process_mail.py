"""services/notifier/process_mail.py: the applicant's e-mails about the process, fed with the
public events the real aggregate publishes (in-memory event store, the service's event map):
one clear e-mail per step, none twice, every template rendered."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from services.applications.app import ApplicationsApp
from services.applications.domain import Application
from services.applications.public import make_mapper
from services.applications.steps import CLOSING as APPLICATIONS_CLOSING
from services.applications.workflow import FACTS, STAFF, Verdict, judge
from services.notifier.chat_mail import references
from services.notifier.outbox import render
from services.notifier.process_mail import CLOSING, PROCESS_MAIL_DDL, TOLD_BY_THE_FACT, ProcessMailOutbox, rub
from shared.events import AccountRegisteredV1, Envelope
from shared.readstore import SQLiteReadStore
from shared.settings import Settings
from tests.unit.test_applications_process import (
    APPLICANT,
    STAFF_FILES,
    TODAY,
    in_work,
    offer,
    pay,
)
from tests.unit.test_applications_process import STAFF as STAFF_ACTOR

PUBLIC_URL = "https://lk.example.ru"


@pytest.fixture
def app(tmp_path: Path) -> ApplicationsApp:
    instance = ApplicationsApp(
        Settings(var_dir=tmp_path, secret_key="k" * 40), {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    )
    instance.seed_catalog()
    return instance


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteReadStore]:
    store = SQLiteReadStore(tmp_path / "notifier.sqlite")
    await store.open()
    await store.migrate([*ProcessMailOutbox.ddl, *references().ddl])
    yield store
    await store.close()


def published(app: ApplicationsApp, claim_id: uuid.UUID) -> list[Envelope]:
    """The application's public events as the relay sends them."""
    mapper = make_mapper(app)
    out = []
    for n, event in enumerate(app.repository.event_store.get(claim_id)):
        payload = mapper(event)
        if payload is not None:
            out.append(
                payload.envelope(
                    source="applications",
                    subject=str(claim_id),
                    sequence=event.originator_version,
                    position=n,
                )
            )
    return out


async def feed(store: SQLiteReadStore, events: list[Envelope]) -> list[dict[str, Any]]:
    """Every event handled twice (a redelivery); the outbox rows in order."""
    outbox = ProcessMailOutbox(PUBLIC_URL + "/")
    for event in [*events, *events]:
        async with store.transaction() as tx:
            await outbox.handle(tx, event)
    return await store.fetch("SELECT * FROM notifier_outbox ORDER BY rowid")


def act(
    app: ApplicationsApp, claim_id: uuid.UUID, step: Callable[[Application], object], actor: Any = STAFF_ACTOR
) -> None:
    app.act(claim_id, actor, step)


def to_acts(app: ApplicationsApp, claim_id: uuid.UUID) -> None:
    notice = [{"slot": "tu_fulfilled", "file_id": "n-f", "name": "уведомление.pdf"}]
    act(app, claim_id, lambda c: c.notify(APPLICANT, "tu_fulfilled", notice, {"n-f"}, None), APPLICANT)
    day = TODAY - timedelta(days=1)
    act(app, claim_id, lambda c: c.record_connection(STAFF_ACTOR, day, TODAY, TODAY, None))


def document(app: ApplicationsApp, claim_id: uuid.UUID, kind: str) -> None:
    doc = {"slot": kind, "file_id": "act-f", "name": f"{kind}.pdf"}
    act(app, claim_id, lambda c: c.place_document(STAFF_ACTOR, f"d-{kind}", kind, doc, STAFF_FILES))


async def test_the_process_by_payment_sends_one_clear_mail_per_step(
    app: ApplicationsApp, store: SQLiteReadStore
) -> None:
    claim_id = in_work(app)
    act(app, claim_id, lambda c: c.place_offer(STAFF_ACTOR, offer(amount=55_050), STAFF_FILES, "2026-03-10"))
    pay(app, claim_id, 20_000, "p-1")
    pay(app, claim_id, 20_000, "p-1")  # the same reference: nothing recorded, nothing mailed
    pay(app, claim_id, 35_050, "p-2")  # full: concludes, told by the status e-mail
    to_acts(app, claim_id)
    document(app, claim_id, "act_meter")
    document(app, claim_id, "act_tp")  # closing: «Заявка выполнена» in its own e-mail
    rows = await feed(store, published(app, claim_id))
    number: str = app.repository.get(claim_id).number
    assert [(r["kind"], r["subject"].split(" — ")[0]) for r in rows] == [
        ("lk.applications.ApplicationSubmitted.v1", f"Заявка {number} принята"),
        ("lk.applications.StatusChanged.v1", f"Заявка {number}: В работе"),
        ("lk.applications.OfferPlaced.v1", f"Заявка {number}: договор, технические условия и счёт размещены"),
        (
            "lk.applications.PaymentRecorded.v1",
            f"Заявка {number}: получен платёж 200,00\u00a0₽, осталось оплатить 350,50\u00a0₽",
        ),
        ("lk.applications.StatusChanged.v1", f"Заявка {number}: Выполнение мероприятий по ТП"),
        ("lk.applications.StatusChanged.v1", f"Заявка {number}: Проверка выполнения ТУ"),
        ("lk.applications.StatusChanged.v1", f"Заявка {number}: Подготовка актов ТП"),
        (
            "lk.applications.CompanyDocumentPlaced.v1",
            f"Заявка {number}: размещён документ «Акт допуска прибора учёта в эксплуатацию»",
        ),
        ("lk.applications.CompanyDocumentPlaced.v1", f"Заявка {number}: Заявка выполнена"),
    ]
    assert {r["recipient"] for r in rows} == {APPLICANT.email}
    offer_mail = rows[2]["body_text"]
    assert "550,50\u00a0₽" in offer_mail and "до 10.03.2026" in offer_mail and "QR-код" in offer_mail
    assert f"{PUBLIC_URL}/applications/{claim_id}" in offer_mail and "подписывать его не нужно" in offer_mail
    assert "Договор заключается в день полной оплаты" in rows[3]["body_text"]
    closing = rows[-1]["body_text"]
    assert (
        "«Акт об осуществлении технологического присоединения»" in closing and "«Заявка выполнена»" in closing
    )


async def test_a_signed_offer_paid_in_full_gets_the_payment_mail(
    app: ApplicationsApp, store: SQLiteReadStore
) -> None:
    claim_id = in_work(app, type_code="legal_150_670kw", power=300)
    act(app, claim_id, lambda c: c.place_offer(STAFF_ACTOR, offer(signature=True), STAFF_FILES, None))
    pay(app, claim_id, 55_000, "p-1")  # paid, not concluded: the signature is due
    signed = {  # what signature.SignatureSteps.sign hands over once the code matched
        "challenge_id": "c-1",
        "file_id": "contract-f",
        "name": "Договор ТП.pdf",
        "document_sha256": "0" * 64,
        "signed_at": "2026-12-01T10:00:00+00:00",
        "client_address": "198.51.100.7",
    }
    act(app, claim_id, lambda c: c.decide(APPLICANT, True, "", TODAY, None, signed=signed), APPLICANT)
    rows = await feed(store, published(app, claim_id))
    subjects = [r["subject"].split(" — ")[0].split(": ", 1)[-1] for r in rows]
    assert subjects[1:] == [
        "В работе",
        "договор, технические условия и счёт размещены",
        "получен платёж 550,00\u00a0₽, счёт оплачен полностью",
        "Выполнение мероприятий по ТП",
    ]
    assert (
        "подпишите договор" in rows[2]["body_text"] and "подписывать его не нужно" not in rows[2]["body_text"]
    )
    assert "Договор заключается в день полной оплаты" not in rows[3]["body_text"]


async def test_a_payment_of_an_offer_placed_before_the_table_finds_the_address_in_the_refs(
    app: ApplicationsApp, store: SQLiteReadStore
) -> None:
    claim_id = in_work(app)
    act(app, claim_id, lambda c: c.place_offer(STAFF_ACTOR, offer(), STAFF_FILES, None))
    pay(app, claim_id, 10_000, "p-1")
    payment = published(app, claim_id)[-1]
    assert payment.type == "lk.applications.PaymentRecorded.v1"
    account = AccountRegisteredV1(
        account_id=APPLICANT.account_id,
        login="ivan",
        email="ivan.refs@example.ru",
        account_type="consumer",
        confirmation_token="t.m",
        confirmation_expires_at=None,
    ).envelope(source="identity", subject=APPLICANT.account_id, sequence=1, position=1)
    async with store.transaction() as tx:
        await references().handle(tx, account)
    [row] = await feed(store, [payment])  # no notifier_process row: the offer came before it
    assert row["recipient"] == "ivan.refs@example.ru" and "осталось оплатить 450,00" in row["subject"]


async def test_no_address_anywhere_mails_nothing(app: ApplicationsApp, store: SQLiteReadStore) -> None:
    claim_id = in_work(app)
    act(app, claim_id, lambda c: c.place_offer(STAFF_ACTOR, offer(), STAFF_FILES, None))
    pay(app, claim_id, 10_000, "p-1")
    assert await feed(store, [published(app, claim_id)[-1]]) == []


def test_the_status_changes_told_by_a_fact_are_entered_only_by_that_fact() -> None:
    """The status e-mails skipped for «Заключение договора ТП» and «Заявка выполнена» are
    never needed for a plain move: no plain move reaches those statuses."""
    assert set(FACTS) >= TOLD_BY_THE_FACT
    for current in ("submitted", "in_work", "needs_documents", "contract", "activities", "tu_check", "acts"):
        for target in TOLD_BY_THE_FACT:
            assert judge(STAFF, current, target) is not Verdict.ALLOWED
    assert set(APPLICATIONS_CLOSING) == CLOSING


@pytest.mark.parametrize("signature", [False, True])
@pytest.mark.parametrize("term", [{"months": 4}, {"working_days": 30}])
def test_the_offer_templates_render(signature: bool, term: dict[str, int]) -> None:
    text, html = render(
        "offer_placed",
        number="ТП-2026-000001",
        amount=rub(1_250_000_75),
        due="10.03.2026",
        needs_signature=signature,
        months=term.get("months"),
        working_days=term.get("working_days"),
        link=f"{PUBLIC_URL}/applications/a<b",
    )
    for body in (text, html):
        assert "ТП-2026-000001" in body and "1\u202f250\u202f000,75\u00a0₽" in body and "10.03.2026" in body
        assert ("подпишите договор" in body) is signature and "{{" not in body and "{%" not in body
        assert ("4 мес." in body) is ("months" in term) and ("30 раб. дн." in body) is (
            "working_days" in term
        )
    assert f"{PUBLIC_URL}/applications/a<b" in text and "a&lt;b" in html and "a<b" not in html


@pytest.mark.parametrize("closing", [False, True])
def test_the_company_document_templates_render(closing: bool) -> None:
    text, html = render(
        "company_document", number="ТП-2026-000002", title="Акт <ТП>", closing=closing, link=PUBLIC_URL + "/x"
    )
    assert "«Акт <ТП>»" in text and "Акт &lt;ТП&gt;" in html
    for body in (text, html):
        assert ("Заявка выполнена" in body) is closing and PUBLIC_URL + "/x" in body and "{{" not in body


@pytest.mark.parametrize(("left", "concludes"), [("100,00 ₽", True), ("100,00 ₽", False), ("", False)])
def test_the_payment_templates_render(left: str, concludes: bool) -> None:
    context = {"amount": "50,00 ₽", "paid_on": "01.03.2026", "paid": "50,00 ₽", "invoice": "150,00 ₽"}
    text, html = render(
        "payment_recorded",
        number="ТП-2026-000003",
        left=left,
        concludes=concludes,
        link=PUBLIC_URL,
        **context,
    )
    for body in (text, html):
        assert "50,00 ₽" in body and "150,00 ₽" in body and "01.03.2026" in body and "{{" not in body
        assert ("Осталось оплатить" in body) is bool(left) and ("оплачен полностью" in body) is not bool(left)
        assert ("день полной оплаты" in body) is concludes


def test_amounts_are_exact() -> None:
    assert (
        rub(5) == "0,05\u00a0₽"
        and rub(100) == "1,00\u00a0₽"
        and rub(123_456_789) == "1\u202f234\u202f567,89\u00a0₽"
    )
    assert PROCESS_MAIL_DDL[0].startswith("CREATE TABLE IF NOT EXISTS notifier_process")
