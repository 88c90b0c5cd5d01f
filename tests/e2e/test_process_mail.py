"""The applicant's e-mails about the process, one body per mode (issue 12): from the offer to
completion each step sends exactly one clear e-mail — the offer with its amount, due date and
what to do, a partial payment with what is left, the status changes the facts caused (the
offer's and the closing document's told by their own e-mails), each company document — and
nothing twice: counted in the mailbox and in the notifier's outbox per kind."""

from __future__ import annotations

import asyncio
from collections import Counter

from shared.format import today
from shared.readstore import build_readstore
from tests.conftest import Person
from tests.e2e.helpers import mails_with
from tests.e2e.process_steps import advance, code_by_mail, file_in, offer_body, post
from tests.e2e.test_applications import TITLES, consumer, staff
from tests.e2e.test_process import submitted
from tests.harness import Mail, System

__all__ = ["staff"]  # the fixture of test_applications.py


def outbox_kinds(system: System, email: str) -> Counter[str]:
    """The notifier's outbox rows to ``email``, per kind (the public event's type)."""

    async def read() -> Counter[str]:
        store = build_readstore(system.settings, "notifier")
        await store.open()
        try:
            rows = await store.fetch("SELECT kind FROM notifier_outbox WHERE recipient = $1", email)
        finally:
            await store.close()
        return Counter(str(r["kind"]).removeprefix("lk.").removesuffix(".v1") for r in rows)

    return asyncio.run(read())


def one(system: System, email: str, subject: str) -> Mail:
    found = mails_with(system, email, subject)
    assert len(found) == 1, (subject, [m.subject for m in found])
    return found[0]


def test_from_the_offer_to_completion_one_mail_per_step(
    system: System, person: Person, staff: dict[str, str]
) -> None:
    with system.client() as http:
        auth = consumer(system, http, person)
        app_id = submitted(http, auth)
        advance(http, staff, auth, app_id, "in_work")
        placed = post(http, staff, app_id, "offer", offer_body(http, staff, False, 1234.5))
        assert placed.status_code == 200, placed.text
        number, due = placed.json()["number"], placed.json()["invoice"]["due"]
        for reference, amount in (("ПП-1", 1000), ("ПП-1", 1000), ("ПП-2", 234.5)):  # a repeat: nothing
            paid = {"amount_rub": amount, "paid_at": today().isoformat(), "reference": reference}
            assert post(http, staff, app_id, "payments", paid).status_code == 200
        advance(http, staff, auth, app_id, "acts")
        meter = file_in(http, staff, "Акт допуска прибора учёта.pdf")
        assert (
            post(
                http, staff, app_id, "company-documents", {"kind": "act_meter", "file_id": meter}
            ).status_code
            == 201
        )
        act = {"kind": "act_tp", "file_id": file_in(http, staff, "Акт об осуществлении ТП.pdf")}
        keyed = {**staff, "Idempotency-Key": f"act-{app_id}"}
        for _ in range(2):  # the repeat places nothing, mails nothing
            assert post(http, keyed, app_id, "company-documents", act).status_code == 201

    link = f"/applications/{app_id}"
    done = one(system, person.email, f"Заявка {number}: {TITLES['completed']}")  # the last one
    assert "«Акт об осуществлении технологического присоединения»" in done.text and link in done.text
    offer = one(system, person.email, f"Заявка {number}: договор, технические условия и счёт размещены")
    day = ".".join(reversed(due.split("-")))
    assert "1\u202f234,50\u00a0₽" in offer.text and f"оплатите счёт до {day}" in offer.text
    assert "QR-код" in offer.text and link in offer.text and f'href="{system.base_url}{link}"' in offer.html
    partial = one(system, person.email, f"Заявка {number}: получен платёж 1\u202f000,00\u00a0₽")
    assert "осталось оплатить 234,50\u00a0₽" in partial.subject and link in partial.text
    meter_mail = one(system, person.email, "размещён документ «Акт допуска прибора учёта в эксплуатацию»")
    assert link in meter_mail.text
    for stage in ("in_work", "activities", "tu_check", "acts"):
        assert link in one(system, person.email, f"Заявка {number}: {TITLES[stage]}").text
    # The status changes told by the offer's and the closing document's own e-mails, and the
    # payment that concluded the contract (told by «Выполнение мероприятий по ТП»), send none.
    mine = [m for m in system.mailbox.messages_to(person.email) if number in m.subject]
    assert not [m for m in mine if m.subject.startswith(f"Заявка {number}: {TITLES['contract']}")]
    assert not [
        m for m in mine if "234,50\u00a0₽, счёт оплачен" in m.subject or "получен платёж 234" in m.subject
    ]
    assert len(mine) == 9  # receipt, in work, offer, partial payment, 3 stages, 2 documents
    assert outbox_kinds(system, person.email) == {
        "identity.AccountRegistered": 1,
        "applications.ApplicationSubmitted": 1,
        "applications.StatusChanged": 4,
        "applications.OfferPlaced": 1,
        "applications.PaymentRecorded": 1,
        "applications.CompanyDocumentPlaced": 2,
    }


def test_a_signed_offer_mails_what_to_do_and_the_full_payment(
    system: System, person: Person, staff: dict[str, str]
) -> None:
    with system.client() as http:
        auth = consumer(system, http, person)
        app_id = submitted(http, auth, type_code="legal_150_670kw", power_kw=300)
        advance(http, staff, auth, app_id, "in_work")
        placed = post(http, staff, app_id, "offer", offer_body(http, staff, True, 500_000))
        assert placed.status_code == 200, placed.text
        number = placed.json()["number"]
        paid = {"amount_rub": 500_000, "paid_at": today().isoformat(), "reference": "ПП-9"}
        assert post(http, staff, app_id, "payments", paid).json()["status"] == "contract"  # not signed yet
        code = code_by_mail(system, http, auth, app_id, person.email)
        signed = post(http, auth, app_id, "acceptance", {"decision": "accept", "code": code, "comment": ""})
        assert signed.status_code == 200, signed.text
    one(system, person.email, f"Заявка {number}: {TITLES['activities']}")  # concluded by the signature
    offer = one(system, person.email, f"Заявка {number}: договор, технические условия и счёт размещены")
    assert "подпишите договор" in offer.text and "подписывать его не нужно" not in offer.text
    full = one(
        system,
        person.email,
        f"Заявка {number}: получен платёж 500\u202f000,00\u00a0₽, счёт оплачен полностью",
    )
    assert "день полной оплаты" not in full.text
    assert outbox_kinds(system, person.email)["applications.PaymentRecorded"] == 1
