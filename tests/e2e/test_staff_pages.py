"""The staff's back office in headless Chromium, one body per mode (issue 12, point 7): a
staff member takes an application from the queue and walks it from «В работе» through the
offer, the payment, the connection and the closing document with the page's buttons only,
confirming what cannot be undone (the consumer's one step, the notice of fulfilled ТУ, goes
through the API: it is the consumer's page, not this one); the queue's filters find it at
each stage. At a desktop's width and at a phone's (375 px), with axe-core on the pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from services.gateway.pages.staff_fields import FIELD_TEXT
from tests.conftest import Person, new_person
from tests.e2e import a11y
from tests.e2e.files_helpers import PDF
from tests.e2e.helpers import log_in
from tests.e2e.process_steps import file_in, post
from tests.e2e.test_applications import consumer
from tests.e2e.test_identity_complete import NEW_PASSWORD, create_staff
from tests.e2e.test_pages_livable import PHONE, fits_the_phone, logged_in
from tests.e2e.test_process import submitted
from tests.harness import System

pytestmark = pytest.mark.browser
DESKTOP = {"width": 1280, "height": 900}
CONFIRM = "Подтвердите действие: отметьте флажок и нажмите кнопку ещё раз."


def status_is(page: Page, title: str) -> None:
    expect(page.get_by_test_id("status").first).to_have_text(title)


def checked(page: Page, phone: bool) -> None:
    """No serious accessibility violation; at a phone's width, no sideways scroll."""
    found = a11y.violations(page)
    assert found == [], a11y.summary(found)
    if phone:
        fits_the_phone(page)


def in_queue(page: Page, system: System, number: str, **params: str) -> bool:
    """Whether the queue shows ``number`` under the filters chosen in the form."""
    page.goto(system.base_url + "/applications")
    page.get_by_label("Поиск").fill(number)
    for label, value in params.items():
        page.get_by_label(label, exact=True).select_option(label=value)
    page.get_by_role("button", name="Показать").click()
    expect(page.get_by_role("heading", name="Очередь заявок")).to_be_visible()
    return page.get_by_role("link", name=number).count() == 1


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_staff_walk_an_application_to_completion_with_the_pages_buttons(
    system: System,
    person: Person,
    browser: Browser,
    contexts: list[BrowserContext],
    tmp_path: Path,
    viewport: dict[str, Any],
) -> None:
    phone = viewport == PHONE
    clerk = new_person()
    create_staff(system, clerk.login, clerk.email)
    with system.client() as http:
        auth = consumer(system, http, person)
        app_id = submitted(http, auth)
        number = str(http.get(f"/api/v1/applications/{app_id}", headers=auth).json()["number"])
    files = {}
    for name in ("Договор ТП.pdf", "Технические условия.pdf", "Акт об осуществлении ТП.pdf"):
        files[name] = tmp_path / name
        files[name].write_bytes(PDF + name.encode())
    page = logged_in(browser, contexts, system, clerk.login, NEW_PASSWORD, viewport=viewport, bypass_csp=True)

    # The queue: nobody holds it yet; «Взять в работу» from its row.
    assert in_queue(page, system, number, Исполнитель="Без исполнителя")
    checked(page, phone)
    page.get_by_role("button", name=f"Взять в работу заявку {number}").click()
    expect(page.get_by_role("status")).to_contain_text("Заявка взята в работу")
    expect(page.get_by_test_id("assignee")).to_contain_text("(вы)")
    assert in_queue(page, system, number, Исполнитель="Мои заявки")
    expect(page.get_by_test_id("assignee").first).to_contain_text("(вы)")
    assert not in_queue(page, system, number, **{"Чей ход": "Ждём заявителя"})
    page.goto(system.base_url + "/applications?assignee=me")
    page.get_by_role("navigation", name="Быстрые фильтры").get_by_role("link", name="Мои заявки").click()
    page.get_by_role("link", name=number).click()

    # «Подана» → «В работе» by the plain status form (the completeness check needs no fact).
    page.get_by_label("В работе", exact=True).check()
    page.get_by_role("button", name="Сохранить статус").click()
    status_is(page, "В работе")

    # The offer: without the confirmation nothing is placed, and the files stay uploaded.
    offer = page.get_by_role("form", name="Разместить оферту")
    offer.get_by_label("Договор ТП (оферта), файл").set_input_files(str(files["Договор ТП.pdf"]))
    offer.get_by_label("Технические условия, файл").set_input_files(str(files["Технические условия.pdf"]))
    offer.get_by_label("Сумма счёта, ₽").fill("550,00")
    offer.get_by_label("Срок", exact=True).fill("4")
    expect(offer.get_by_label("Требуется подпись заявителя")).not_to_be_checked()  # 12,5 kW: paid
    offer.get_by_role("button", name="Разместить оферту").click()
    offer = page.get_by_role("form", name="Разместить оферту")
    expect(offer.get_by_text("Уже загружен: Договор ТП.pdf")).to_be_visible()
    confirm = offer.get_by_label("Подтверждаю: разместить оферту", exact=False)
    expect(confirm).to_have_accessible_description(CONFIRM)
    status_is(page, "В работе")  # the page came back: nothing placed
    checked(page, phone)
    confirm.check()
    offer.get_by_role("button", name="Разместить оферту").click()
    status_is(page, "Заключение договора ТП")
    expect(page.get_by_role("status")).to_contain_text("Оферта размещена")
    assert in_queue(page, system, number, **{"Чей ход": "Ждём заявителя"})
    page.get_by_role("link", name=number).click()

    # The payment: a zero is refused at its field; the full amount concludes the contract.
    pay = page.get_by_role("form", name="Отметить оплату")
    pay.get_by_label("Сумма платежа, ₽").fill("0")
    pay.get_by_label("Номер платёжного документа").fill("ПП-1")
    pay.get_by_label("Подтверждаю: платёж поступил", exact=False).check()
    pay.get_by_role("button", name="Отметить оплату").click()
    amount = page.get_by_label("Сумма платежа, ₽")
    expect(amount).to_have_accessible_description(FIELD_TEXT["amount"])
    expect(page.get_by_label("Номер платёжного документа")).to_have_value("ПП-1")  # what was typed stays
    status_is(page, "Заключение договора ТП")
    pay = page.get_by_role("form", name="Отметить оплату")
    pay.get_by_label("Сумма платежа, ₽").fill("550")
    pay.get_by_label("Номер платёжного документа").fill("ПП-1")
    pay.get_by_label("Подтверждаю: платёж поступил", exact=False).check()
    checked(page, phone)
    pay.get_by_role("button", name="Отметить оплату").click()
    status_is(page, "Выполнение мероприятий по ТП")
    expect(page.get_by_test_id("paid")).to_have_text("550,00 ₽")
    assert in_queue(page, system, number, **{"Чей ход": "Ждёт сетевую организацию"})

    # The consumer notifies that the ТУ are fulfilled (their page is another engineer's).
    with system.client() as http:
        notice = {
            "kind": "tu_fulfilled",
            "file_ids": [file_in(http, auth, "Уведомление о выполнении ТУ.pdf")],
        }
        assert post(http, auth, app_id, "notices", notice).status_code == 200

    # The connection, confirmed.
    page.goto(system.base_url + f"/applications/{app_id}")
    status_is(page, "Проверка выполнения ТУ")
    connection = page.get_by_role("form", name="Зафиксировать присоединение")
    connection.get_by_role("button", name="Зафиксировать присоединение").click()
    confirm = page.get_by_label("Подтверждаю: выполнение ТУ проверено", exact=False)
    expect(confirm).to_have_accessible_description(CONFIRM)
    status_is(page, "Проверка выполнения ТУ")  # not confirmed: nothing recorded
    confirm.check()
    connection = page.get_by_role("form", name="Зафиксировать присоединение")
    connection.get_by_role("button", name="Зафиксировать присоединение").click()
    status_is(page, "Подготовка актов ТП")

    # The closing document: uploaded, then a confirmation step completes the application.
    document = page.get_by_role("form", name="Разместить документ сетевой организации")
    document.get_by_label("Вид документа").select_option(
        label="Акт об осуществлении технологического присоединения"
    )
    document.get_by_label("Файл документа").set_input_files(str(files["Акт об осуществлении ТП.pdf"]))
    document.get_by_role("button", name="Разместить документ").click()
    expect(
        page.get_by_role(
            "heading",
            name="Разместить «Акт об осуществлении технологического присоединения» и завершить заявку?",
        )
    ).to_be_visible()
    status_is(page, "Подготовка актов ТП")
    checked(page, phone)
    page.get_by_role("button", name="Да, разместить и завершить заявку").click()
    status_is(page, "Заявка выполнена")
    expect(page.get_by_role("status")).to_contain_text("Закрывающий документ размещён")
    assert page.get_by_role("button", name="Взять в работу").count() == 0
    checked(page, phone)
    with system.client() as http:
        seen = http.get(f"/api/v1/applications/{app_id}", headers=auth).json()
    assert [(d["kind"], d["name"]) for d in seen["company_documents"]] == [
        ("offer_contract", "Договор ТП.pdf"),
        ("technical_conditions", "Технические условия.pdf"),
        ("act_tp", "Акт об осуществлении ТП.pdf"),
    ]
    assert [p["reference"] for p in seen["invoice"]["payments"]] == ["ПП-1"]
    assert not in_queue(page, system, number, **{"Срок": "Просрочено сетевой организацией"})
    with system.client() as http:  # the applicant's own page shows none of the staff's desk
        log_in(http, person.login, person.password)
        theirs = http.get(f"/applications/{app_id}")
        assert theirs.status_code == 200 and number in theirs.text
        assert "Работа с заявкой" not in theirs.text and "desk/" not in theirs.text
