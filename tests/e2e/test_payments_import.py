"""The bank-statement import through the gateway, one body per mode (issue 12, docs/payments.md):
staff import a statement — two lines matching an application, the second line again, a line
naming no application, a line for an application without an invoice — the payments show on
the invoice and the full payment concludes the contract; the same file again records nothing;
a consumer is refused; a file that is not a statement is refused whole, recording nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect

from shared.format import today
from tests.conftest import Person, new_person
from tests.e2e.a11y import summary, violations
from tests.e2e.helpers import log_in
from tests.e2e.process_steps import offer_body, post
from tests.e2e.test_applications import consumer
from tests.e2e.test_identity_complete import NEW_PASSWORD, create_staff
from tests.e2e.test_process import staff, submitted
from tests.harness import System

__all__ = ["staff"]  # the fixture, used by name

IMPORT = "/api/v1/payments/import"
HEADER = "Дата;Сумма;Назначение платежа;Номер документа;Плательщик"


def statement(*rows: tuple[str, str, str], encoding: str = "cp1251") -> bytes:
    """Rows of (amount, purpose, document number), paid today, as a bank exports them."""
    day = f"{today():%d.%m.%Y}"
    lines = [
        HEADER,
        *(f'{day};"{amount}";"{purpose}";{number};Иванов Иван' for amount, purpose, number in rows),
    ]
    return "\r\n".join(lines).encode(encoding)


def purpose(number: str) -> str:
    return f"Оплата за технологическое присоединение по заявке № {number}. Без НДС"


def upload(http: httpx.Client, auth: dict[str, str], data: bytes, kind: str = "text/csv") -> httpx.Response:
    return http.post(IMPORT, headers={**auth, "Content-Type": kind}, content=data)


def offered(http: httpx.Client, auth: dict[str, str], staff: dict[str, str]) -> dict[str, Any]:
    app_id = submitted(http, auth)
    assert post(http, staff, app_id, "transitions", {"to_status": "in_work"}).status_code == 200
    placed = post(http, staff, app_id, "offer", offer_body(http, staff, False, 550.0))
    assert placed.status_code == 200, placed.text
    return dict(placed.json())


def test_staff_import_a_statement_once_and_the_contract_is_concluded(
    system: System, person: Person, staff: dict[str, str]
) -> None:
    with system.client() as http:
        auth = consumer(system, http, person)
        app = offered(http, auth, staff)
        waiting = http.get(f"/api/v1/applications/{submitted(http, auth)}", headers=auth).json()
        number = app["number"]
        data = statement(
            ("200,00", purpose(number), "15"),
            ("350,00", purpose(number), "16"),
            ("350,00", purpose(number), "16"),  # the same line again
            ("1 500,00", "Оплата по договору аренды № 7", "204"),
            ("10,00", purpose(waiting["number"]), "17"),  # no invoice yet
        )
        before = http.get(f"/api/v1/applications/{app['id']}", headers=staff).json()["version"]
        # A consumer may not import, and nothing is recorded.
        mine = upload(http, auth, data)
        assert (mine.status_code, mine.json()["code"]) == (403, "forbidden")
        assert http.get(f"/api/v1/applications/{app['id']}", headers=staff).json()["version"] == before

        answer = upload(http, staff, data)
        assert answer.status_code == 200, answer.text
        report = answer.json()
        assert (report["lines"], report["recorded"], report["duplicates"]) == (5, 2, 1)
        assert report["unmatched"] == [{"line": 5, "purpose": "Оплата по договору аренды № 7"}]
        assert [(r["line"], r["code"]) for r in report["refused"]] == [(6, "no_invoice")]
        assert report["refused"][0]["message"]

        seen = http.get(f"/api/v1/applications/{app['id']}", headers=auth).json()
        assert seen["status"] == "activities"  # the full payment concluded the contract
        invoice = seen["invoice"]
        assert (invoice["amount_rub"], invoice["paid_rub"], invoice["paid_at"]) == (
            550.0,
            550.0,
            today().isoformat(),
        )
        assert len(invoice["payments"]) == 2
        assert "contract_concluded" in [m["code"] for m in seen["milestones"]]
        version = seen["version"]

        again = upload(http, staff, data).json()  # the same file again: nothing new
        assert (again["recorded"], again["duplicates"], len(again["unmatched"]), len(again["refused"])) == (
            0,
            3,
            1,
            1,
        )
        assert http.get(f"/api/v1/applications/{app['id']}", headers=auth).json()["version"] == version
        # The accounting API posting the same order under the statement's reference: the same.
        same = {"amount_rub": 350, "paid_at": today().isoformat(), "reference": f"16 от {today():%d.%m.%Y}"}
        assert post(http, staff, app["id"], "payments", same).json()["version"] == version


def test_a_file_that_is_not_a_statement_is_refused_whole(
    system: System, person: Person, staff: dict[str, str]
) -> None:
    with system.client() as http:
        auth = consumer(system, http, person)
        app = offered(http, auth, staff)
        line = ("550,00", purpose(app["number"]), "1")
        for data, kind, status, code in (
            (b"\x89PNG\r\n\x1a\n\x00\x00" + statement(line), "text/csv", 422, "statement_not_csv"),
            (b"date;amount\n01.01.2026;5", "text/csv", 422, "statement_columns_missing"),
            (statement(line), "application/json", 415, "statement_type"),
            (statement(line) + b"\r\n" + b";" * (2 * 1024 * 1024), "text/csv", 413, "payload_too_large"),
        ):
            answer = upload(http, staff, data, kind)
            assert (answer.status_code, answer.json()["code"]) == (status, code), answer.text
        seen = http.get(f"/api/v1/applications/{app['id']}", headers=staff).json()
        assert (seen["version"], seen["invoice"]["paid_rub"]) == (app["version"], 0.0)
        # The same statement in UTF-8 with commas reads as well.
        utf8 = f"date,amount,purpose,reference\n{today().isoformat()},550.00,{purpose(app['number'])},1\n"
        assert upload(http, staff, utf8.encode()).json()["recorded"] == 1


@pytest.mark.browser
def test_staff_upload_a_statement_on_the_page_and_see_the_report(
    system: System, person: Person, browser: Browser
) -> None:
    clerk = new_person()
    create_staff(system, clerk.login, clerk.email)
    with system.client() as http:
        auth = consumer(system, http, person)
        staff_auth = log_in(http, clerk.login, NEW_PASSWORD)
        app = offered(http, auth, staff_auth)
    data = statement(
        ("200,00", purpose(app["number"]), "15"),
        ("350,00", purpose(app["number"]), "16"),
        ("350,00", purpose(app["number"]), "16"),
        ("1 500,00", "Оплата по договору аренды № 7", "204"),
    )
    context = browser.new_context(locale="ru-RU", bypass_csp=True)  # axe is injected as a script
    theirs = browser.new_context(locale="ru-RU")  # the consumer's
    try:
        page = context.new_page()
        page.goto(system.base_url + "/?tab=login")
        page.get_by_label("Логин").fill(clerk.login)
        page.get_by_label("Пароль").fill(NEW_PASSWORD)
        page.get_by_role("button", name="Вход").click()
        page.get_by_role("link", name="Импорт выписки").click()
        expect(page.get_by_role("heading", name="Импорт выписки банка")).to_be_visible()
        page.get_by_label("Файл выписки").set_input_files(
            {"name": "выписка.csv", "mimeType": "text/csv", "buffer": data}
        )
        page.get_by_role("button", name="Загрузить выписку").click()
        expect(page.get_by_role("heading", name="Отчёт об импорте файла «выписка.csv»")).to_be_visible()
        expect(page.get_by_test_id("recorded")).to_have_text("2")
        expect(page.get_by_test_id("duplicates")).to_have_text("1")
        expect(page.get_by_test_id("unmatched")).to_have_text("1")
        rows = page.get_by_test_id("import-rows")
        expect(rows).to_contain_text("Заявка не найдена")
        expect(rows).to_contain_text("Оплата по договору аренды № 7")
        assert violations(page) == [], summary(violations(page))
        # A file that is not a statement: the message above the form, nothing recorded.
        page.get_by_label("Файл выписки").set_input_files(
            {"name": "скан.png", "mimeType": "text/csv", "buffer": b"\x89PNG\r\n\x1a\n\x00\x00"}
        )
        page.get_by_role("button", name="Загрузить выписку").click()
        expect(page.get_by_role("alert")).to_contain_text("не похож на выписку")
        # The consumer has no such page and no link to it.
        mine = theirs.new_page()
        mine.goto(system.base_url + "/?tab=login")
        mine.get_by_label("Логин").fill(person.login)
        mine.get_by_label("Пароль").fill(person.password)
        mine.get_by_role("button", name="Вход").click()
        menu = mine.get_by_role("navigation", name="Главное меню")
        expect(menu.get_by_role("link", name="Заявки на услуги")).to_be_visible()
        expect(menu.get_by_role("link", name="Импорт выписки")).to_have_count(0)
        answer = mine.goto(system.base_url + "/payments/import")
        assert answer is not None and answer.status == 404
        expect(mine.get_by_role("heading", name="Страница не найдена")).to_be_visible()
    finally:
        context.close()
        theirs.close()
    with system.client() as http:
        seen = http.get(f"/api/v1/applications/{app['id']}", headers=auth).json()
        assert (seen["status"], seen["invoice"]["paid_rub"]) == ("activities", 550.0)
