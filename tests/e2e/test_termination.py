"""«Расторгнуть договор», one body per mode (issue 12): after the contract is concluded the
applicant cannot withdraw, they ask for the termination with the reason and the refund's
details; staff refuse it (the application goes on) or accept it (the application is annulled
with the settlement in the comment); every e-mail once. Bad input records nothing, another
consumer's application does not exist. Then the same journey through the pages, at 375 px."""

from __future__ import annotations

import time

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from tests.conftest import Person, new_person
from tests.e2e import a11y
from tests.e2e.helpers import log_in, mails_with
from tests.e2e.process_steps import advance, file_in, post
from tests.e2e.test_applications import STAFF_DESK, consumer
from tests.e2e.test_identity_complete import NEW_PASSWORD, create_staff
from tests.e2e.test_pages_livable import PHONE, fits_the_phone, logged_in
from tests.e2e.test_process import refused, staff, submitted
from tests.harness import System

__all__ = ["staff"]  # the fixture
REQUEST = {
    "reason": "Отказ от строительства дома",
    "refund_details": "Иванов И. И., счёт 40817810000000000001, БИК 044525225",
}


def seen(http: httpx.Client, auth: dict[str, str], app_id: str) -> dict[str, object]:
    answer = http.get(f"/api/v1/applications/{app_id}", headers=auth)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_the_applicant_asks_to_terminate_and_staff_refuse_then_accept(
    system: System, person: Person, staff: dict[str, str]
) -> None:
    with system.client() as http:
        auth = consumer(system, http, person)
        app_id = submitted(http, auth)
        advance(http, staff, auth, app_id, "in_work")
        assert refused(http, auth, app_id, "termination", REQUEST, 409) == "termination_not_available"
        advance(http, staff, auth, app_id, "activities")
        number = seen(http, auth, app_id)["number"]
        withdraw = {"to_status": "annulled", "comment": "Передумал"}
        assert refused(http, auth, app_id, "transitions", withdraw, 409) == "contract_concluded"

        # Bad input, someone else and the wrong side: refused, nothing recorded.
        other = consumer(system, http, new_person())
        assert post(http, other, app_id, "termination", REQUEST).status_code == 404
        assert refused(http, staff, app_id, "termination", REQUEST, 403) == "forbidden"
        assert (
            refused(http, auth, app_id, "termination", {**REQUEST, "reason": ""}, 422) == "validation_error"
        )
        assert refused(http, auth, app_id, "termination", {**REQUEST, "extra": 1}, 422) == "validation_error"
        blank = {**REQUEST, "refund_details": "   "}
        assert refused(http, auth, app_id, "termination", blank, 422) == "refund_details_required"
        decision = {"decision": "refuse", "comment": "Мероприятия выполнены"}
        assert (
            refused(http, staff, app_id, "termination/decision", decision, 409) == "termination_not_requested"
        )
        assert seen(http, auth, app_id)["termination"] is None

        theirs = file_in(http, other, "Заявление.pdf")
        assert (
            refused(http, auth, app_id, "termination", {**REQUEST, "file_ids": [theirs]}, 422)
            == "file_not_found"
        )
        statement = file_in(http, auth, "Заявление о расторжении.pdf")
        asked = post(http, auth, app_id, "termination", {**REQUEST, "file_ids": [statement]})
        assert asked.status_code == 200, asked.text
        [doc] = asked.json()["termination"]["documents"]
        assert doc["file_id"] == statement and doc["name"] == "Заявление о расторжении.pdf"
        for _ in range(100):  # the statement is shared with staff once the files service has the event
            if http.get(f"/api/v1/files/{statement}", headers=staff).status_code == 200:
                break
            time.sleep(0.1)
        assert http.get(f"/api/v1/files/{statement}", headers=staff).status_code == 200
        assert asked.json()["termination"]["status"] == "pending"
        assert asked.json()["termination"]["refund_details"] == REQUEST["refund_details"]
        assert refused(http, auth, app_id, "termination", REQUEST, 409) == "termination_pending"
        assert refused(http, auth, app_id, "termination/decision", decision, 403) == "forbidden"
        assert (
            len(
                mails_with(
                    system, person.email, f"Заявка {number}: заявление о расторжении договора получено"
                )
            )
            == 1
        )
        [desk] = mails_with(system, STAFF_DESK, f"Заявка {number}: заявитель просит расторгнуть договор")
        assert REQUEST["reason"] in desk.text

        answer = post(http, staff, app_id, "termination/decision", decision)
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "activities" and answer.json()["termination"]["status"] == "refused"
        [mail] = mails_with(system, person.email, f"Заявка {number}: в расторжении договора отказано")
        assert "Мероприятия выполнены" in mail.text

        assert post(http, auth, app_id, "termination", REQUEST).status_code == 200  # asked again
        settled = {"decision": "accept", "comment": "Расходы 1 200,00 ₽, к возврату 0,00 ₽."}
        answer = post(http, staff, app_id, "termination/decision", settled)
        assert answer.status_code == 200, answer.text
        item = answer.json()
        assert item["status"] == "annulled" and item["termination"]["status"] == "accepted"
        [annulled] = mails_with(system, person.email, f"Заявка {number}: Аннулирована")
        assert "Договор ТП расторгнут по заявлению заявителя" in annulled.text and "1 200,00" in annulled.text
        assert refused(http, auth, app_id, "termination", REQUEST, 409) == "termination_not_available"
    subjects = [m.subject for m in system.mailbox.messages_to(person.email)]
    assert sum("заявление о расторжении договора получено" in s for s in subjects) == 2, subjects
    assert sum("в расторжении договора отказано" in s for s in subjects) == 1, subjects


@pytest.mark.browser
def test_terminate_the_contract_through_the_pages(
    system: System, person: Person, browser: Browser, contexts: list[BrowserContext]
) -> None:
    clerk = new_person()
    create_staff(system, clerk.login, clerk.email)
    with system.client() as http:
        auth = consumer(system, http, person)
        app_id = submitted(http, auth)
        advance(http, log_in(http, clerk.login, NEW_PASSWORD), auth, app_id, "activities")
    page = logged_in(
        browser, contexts, system, person.login, person.password, viewport=PHONE, bypass_csp=True
    )
    page.goto(f"{system.base_url}/applications/{app_id}")
    form = page.get_by_role("form", name="Расторгнуть договор")
    form.get_by_label("Причина расторжения договора").fill(REQUEST["reason"])
    form.get_by_role("button", name="Расторгнуть договор").click()  # no details, not confirmed
    form = page.get_by_role("form", name="Расторгнуть договор")
    details = form.get_by_label("Реквизиты для возврата денежных средств")
    expect(details).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_label("Причина расторжения договора")).to_have_value(REQUEST["reason"])
    found = a11y.violations(page)
    assert found == [], a11y.summary(found)
    fits_the_phone(page)
    details.fill(REQUEST["refund_details"])
    form.get_by_role("button", name="Расторгнуть договор").click()
    form = page.get_by_role("form", name="Расторгнуть договор")
    expect(form.get_by_label("Подтверждаю", exact=False)).to_have_attribute("aria-invalid", "true")
    form.get_by_label("Подтверждаю", exact=False).check()
    form.get_by_label("Реквизиты для возврата денежных средств").fill(REQUEST["refund_details"])
    form.get_by_role("button", name="Расторгнуть договор").click()
    expect(page.get_by_role("status")).to_contain_text("Заявление о расторжении договора отправлено")
    expect(page.get_by_test_id("termination-state")).to_contain_text("ждёт решения")

    desk = logged_in(browser, contexts, system, clerk.login, NEW_PASSWORD, viewport=PHONE, bypass_csp=True)
    desk.goto(f"{system.base_url}/applications/{app_id}")
    section = desk.get_by_test_id("termination-desk")
    expect(section).to_contain_text(REQUEST["reason"])
    section.get_by_label("Комментарий для заявителя").fill("Расходы 1 200,00 ₽, к возврату 0,00 ₽.")
    section.get_by_role("button", name="Расторгнуть договор").click()  # not confirmed: nothing done
    section = desk.get_by_test_id("termination-desk")
    expect(section.get_by_label("Подтверждаю", exact=False)).to_have_attribute("aria-invalid", "true")
    found = a11y.violations(desk)
    assert found == [], a11y.summary(found)
    section.get_by_label("Подтверждаю", exact=False).check()
    section.get_by_role("button", name="Расторгнуть договор").click()
    expect(desk.get_by_role("status")).to_contain_text("Договор расторгнут, заявка аннулирована")
    expect(desk.get_by_test_id("status").first).to_have_text("Аннулирована")
