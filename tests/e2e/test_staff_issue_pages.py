"""«Сформировать по типовой форме» on the staff's desk in headless Chromium at a phone's width
(375 px), one body per mode (issue 12, point 1): staff make the act of fulfilled ТУ from the
standard form with the application's address and power already filled in, and it is placed on
the application at once; the act of ТП, a closing document, waits for the confirmation and
then completes the application; the applicant downloads both and reads the values typed. A
repeated post of the same form makes and places nothing more."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.conftest import Person, new_person
from tests.e2e import a11y
from tests.e2e.helpers import log_in
from tests.e2e.process_steps import advance
from tests.e2e.test_applications import consumer
from tests.e2e.test_identity_complete import NEW_PASSWORD, create_staff
from tests.e2e.test_issue_forms import text_of as docx_text
from tests.e2e.test_pages_livable import PHONE, fits_the_phone, logged_in
from tests.e2e.test_process import submitted
from tests.harness import System

pytestmark = pytest.mark.browser


def checked(page: Page) -> None:
    found = a11y.violations(page)
    assert found == [], a11y.summary(found)
    fits_the_phone(page)


def text_of(http: httpx.Client, auth: dict[str, str], file_id: str) -> str:
    answer = http.get(f"/api/v1/files/{file_id}", headers=auth)
    assert answer.status_code == 200, answer.text
    return docx_text(answer.content)


def documents(http: httpx.Client, auth: dict[str, str], app_id: str, kind: str) -> list[dict[str, str]]:
    seen = http.get(f"/api/v1/applications/{app_id}", headers=auth).json()
    return [d for d in seen["company_documents"] if d["kind"] == kind]


def test_staff_issue_the_acts_from_the_standard_forms_on_the_desk(
    system: System, person: Person, browser: Browser, contexts: list[BrowserContext]
) -> None:
    clerk = new_person()
    create_staff(system, clerk.login, clerk.email)
    with system.client() as http:
        auth = consumer(system, http, person)
        app_id = submitted(http, auth)
        staff_auth = log_in(http, clerk.login, NEW_PASSWORD)
        advance(http, staff_auth, auth, app_id, "tu_check")
        item = http.get(f"/api/v1/applications/{app_id}", headers=auth).json()
    page = logged_in(browser, contexts, system, clerk.login, NEW_PASSWORD, viewport=PHONE, bypass_csp=True)
    page.goto(f"{system.base_url}/applications/{app_id}")

    form = page.get_by_role("form", name="Сформировать по типовой форме")
    expect(form.get_by_label("Наименование и место нахождения объекта")).to_have_value(item["object_address"])
    expect(form.get_by_label("Максимальная мощность, кВт", exact=True)).to_have_value("12,5")
    closing = form.get_by_role("option", name="Акт об осуществлении технологического присоединения")
    expect(closing).to_be_disabled()  # not before the connection
    checked(page)
    form.get_by_role("button", name="Сформировать и разместить").click()  # no document chosen
    form = page.get_by_role("form", name="Сформировать по типовой форме")
    expect(form.get_by_label("Документ", exact=True)).to_have_accessible_description("Выберите документ.")

    form.get_by_label("Документ", exact=True).select_option(label="Акт о выполнении технических условий")
    form.get_by_label("Уровень напряжения, кВ; категория надёжности").fill("0,4 кВ; III категория")
    sent = form.evaluate("f => Object.fromEntries(new FormData(f))")
    form.get_by_role("button", name="Сформировать и разместить").click()
    expect(page.get_by_role("status")).to_contain_text("Документ сформирован и размещён")
    # The same post again, as a retry after a lost answer: nothing more is made or placed.
    again = page.request.post(
        f"{system.base_url}/applications/{app_id}/desk/issue", form=sent, max_redirects=0
    )
    assert again.status == 303, again.text()
    with system.client() as http:
        [act_tu] = documents(http, auth, app_id, "act_tu")
        text = text_of(http, auth, act_tu["file_id"])
        assert item["object_address"] in text and "0,4 кВ; III категория" in text and "12,5" in text
        advance(http, staff_auth, auth, app_id, "acts")

    page.goto(f"{system.base_url}/applications/{app_id}")
    form = page.get_by_role("form", name="Сформировать по типовой форме")
    form.get_by_label("Документ", exact=True).select_option(
        label="Акт об осуществлении технологического присоединения"
    )
    form.get_by_label("Уровень напряжения, кВ", exact=True).fill("0,4")
    form.get_by_label("Категория надёжности электроснабжения").fill("III")
    form.get_by_role("button", name="Сформировать и разместить").click()
    expect(
        page.get_by_role("heading", name="Разместить «Акт об осуществлении технологического присоединения»")
    ).to_be_visible()
    expect(page.get_by_test_id("status").first).not_to_have_text("Заявка выполнена")  # not before «Да»
    checked(page)
    page.get_by_role("button", name="Да, разместить и завершить заявку").click()
    expect(page.get_by_role("status")).to_contain_text("заявка выполнена")
    expect(page.get_by_test_id("status").first).to_have_text("Заявка выполнена")
    with system.client() as http:
        [act_tp] = documents(http, auth, app_id, "act_tp")
        assert "0,4" in text_of(http, auth, act_tp["file_id"])
        assert len(documents(http, auth, app_id, "act_tu")) == 1
