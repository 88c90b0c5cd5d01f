"""A 150–670 kW company's grid connection end to end in two browsers, one body per mode
(issue 12): every step through the pages only — staff take the application in work and place
an offer that must be signed; the applicant signs it with the code from the e-mail and notifies
that the ТУ are fulfilled with a file; staff record the connection and make the act of ТП from
the standard form, confirmed; the applicant then sees every company document, the signature and
the milestones, and got each e-mail of the process once. The applicant's page is at a phone's
width (375 px); axe-core finds nothing serious on either side."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.conftest import Person, new_person
from tests.e2e import a11y
from tests.e2e.files_helpers import PDF
from tests.e2e.helpers import mails_with
from tests.e2e.test_applications import TITLES, consumer
from tests.e2e.test_identity_complete import NEW_PASSWORD, create_staff
from tests.e2e.test_pages_livable import PHONE, fits_the_phone, logged_in
from tests.e2e.test_process import submitted
from tests.e2e.test_process_pages_offer import signature_code
from tests.harness import System

pytestmark = pytest.mark.browser
DESKTOP = {"width": 1280, "height": 900}


def status_is(page: Page, title: str) -> None:
    expect(page.get_by_test_id("status").first).to_have_text(title)


def no_axe_problems(page: Page) -> None:
    found = a11y.violations(page)
    assert found == [], a11y.summary(found)


def test_a_company_and_staff_complete_a_connection_through_the_pages(
    system: System, person: Person, browser: Browser, contexts: list[BrowserContext], tmp_path: Path
) -> None:
    clerk = new_person()
    create_staff(system, clerk.login, clerk.email)
    with system.client() as http:
        auth = consumer(system, http, person)
        app_id = submitted(http, auth, type_code="legal_150_670kw", power_kw=300)
        number = str(http.get(f"/api/v1/applications/{app_id}", headers=auth).json()["number"])
    files = {name: tmp_path / name for name in ("Договор ТП.pdf", "Технические условия.pdf")}
    for name, path in files.items():
        path.write_bytes(PDF + name.encode())
    desk = logged_in(browser, contexts, system, clerk.login, NEW_PASSWORD, viewport=DESKTOP, bypass_csp=True)
    mine = logged_in(
        browser, contexts, system, person.login, person.password, viewport=PHONE, bypass_csp=True
    )
    page_of = f"{system.base_url}/applications/{app_id}"

    # Staff: the completeness check, then the offer that must be signed (over 150 kW, ticked).
    desk.goto(page_of)
    desk.get_by_role("button", name="Взять в работу").click()
    desk.get_by_label("В работе", exact=True).check()
    desk.get_by_role("button", name="Сохранить статус").click()
    status_is(desk, "В работе")
    offer = desk.get_by_role("form", name="Разместить оферту")
    offer.get_by_label("Договор ТП (оферта), файл").set_input_files(str(files["Договор ТП.pdf"]))
    offer.get_by_label("Технические условия, файл").set_input_files(str(files["Технические условия.pdf"]))
    offer.get_by_label("Сумма счёта, ₽").fill("1 250 000,75")
    offer.get_by_label("Срок", exact=True).fill("6")
    expect(offer.get_by_label("Требуется подпись заявителя")).to_be_checked()
    offer.get_by_label("Подтверждаю: разместить оферту", exact=False).check()
    offer.get_by_role("button", name="Разместить оферту").click()
    status_is(desk, "Заключение договора ТП")

    # The applicant: the code from the e-mail signs the contract.
    mine.goto(page_of)
    mine.get_by_role("region", name="Подписание договора").get_by_role("button", name="Получить код").click()
    expect(mine.get_by_role("status").filter(has_text="Код отправлен")).to_be_visible()
    mine.get_by_label("Код из письма").fill(signature_code(system, person))
    mine.get_by_role("button", name="Подписать").click()
    expect(mine.get_by_role("status").filter(has_text="Договор подписан")).to_be_visible()
    status_is(mine, "Выполнение мероприятий по ТП")

    # The applicant's notice of fulfilled ТУ, with a file.
    notice = mine.get_by_role("region", name="Уведомить о выполнении ТУ")
    mine.get_by_label("Документы о выполнении ТУ").set_input_files(
        {"name": "Акт готовности.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    notice.get_by_role("button", name="Уведомить о выполнении ТУ").click()
    expect(
        mine.get_by_role("status").filter(has_text="Уведомление о выполнении ТУ отправлено")
    ).to_be_visible()
    status_is(mine, "Проверка выполнения ТУ")
    no_axe_problems(mine)
    fits_the_phone(mine)

    # Staff: the connection, then the act of ТП made from the standard form, confirmed.
    desk.goto(page_of)
    connection = desk.get_by_role("form", name="Зафиксировать присоединение")
    desk.get_by_label("Подтверждаю: выполнение ТУ проверено", exact=False).check()
    connection.get_by_role("button", name="Зафиксировать присоединение").click()
    status_is(desk, "Подготовка актов ТП")
    made = desk.get_by_role("form", name="Сформировать по типовой форме")
    made.get_by_label("Документ", exact=True).select_option(
        label="Акт об осуществлении технологического присоединения"
    )
    made.get_by_label("Уровень напряжения, кВ", exact=True).fill("10")
    made.get_by_label("Категория надёжности электроснабжения").fill("II")
    made.get_by_role("button", name="Сформировать и разместить").click()
    no_axe_problems(desk)
    desk.get_by_role("button", name="Да, разместить и завершить заявку").click()
    status_is(desk, "Заявка выполнена")

    # The applicant sees everything, and got each e-mail of the process once.
    mine.goto(page_of)
    status_is(mine, "Заявка выполнена")
    docs = mine.get_by_role("region", name="Документы сетевой организации")
    for text in (
        "Договор ТП.pdf",
        "Подписано ПЭП",
        "Технические условия.pdf",
        "Акт об осуществлении технологического присоединения",
    ):
        expect(docs).to_contain_text(text)
    no_axe_problems(mine)
    fits_the_phone(mine)
    for subject in (
        TITLES["in_work"],
        "договор, технические условия и счёт размещены",
        TITLES["activities"],  # concluded by the signature
        TITLES["tu_check"],
        TITLES["acts"],
        TITLES["completed"],  # the closing document's e-mail
    ):
        assert len(mails_with(system, person.email, f"Заявка {number}: {subject}")) == 1, subject
    assert len(mails_with(system, person.email, f"Код подписания договора по заявке {number}")) == 1
    assert mails_with(system, person.email, f": {TITLES['contract']}", count=0) == []  # told by the offer's
