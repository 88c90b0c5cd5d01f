"""The consumer's side of the grid-connection process on the application page (issue 12), in
headless Chromium at a phone's width (375 px), one body per mode: after a realistic history
(submitted, put in work, a chat both ways, the offer placed by staff) the consumer downloads
the company's documents, reads the invoice and how to pay it, sees partial and full payment
(«договор заключён») and «Расторгнуть договор» instead of a withdrawal, sends the notice of
fulfilled ТУ with a file through the page, and after the connection and the closing document
sees «Заявка выполнена», the closing document and the milestones; axe-core finds nothing
serious at each stage. The offer that needs a signature: test_process_pages_offer.py."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from shared.format import today
from tests.conftest import Person
from tests.e2e import a11y
from tests.e2e.helpers import log_in
from tests.e2e.process_steps import file_in, offer_body, post
from tests.e2e.test_applications import consumer
from tests.e2e.test_pages_livable import PHONE, fits_the_phone, logged_in
from tests.e2e.test_process import staff, submitted
from tests.harness import System

__all__ = ["staff"]  # the fixture of test_process.py

pytestmark = pytest.mark.browser
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def day_shown() -> str:
    """The services' today, as the pages write it (asked when checked: a run may pass midnight)."""
    return today().strftime("%d.%m.%Y")


def moved(http: httpx.Client, auth: dict[str, str], app_id: str, what: str, body: dict[str, Any]) -> None:
    answer = post(http, auth, app_id, what, body)
    assert answer.status_code in (200, 201), answer.text


def chatted(http: httpx.Client, auth: dict[str, str], app_id: str, text: str) -> None:
    answer = http.post(f"/api/v1/applications/{app_id}/messages", headers=auth, json={"text": text})
    assert answer.status_code == 201, answer.text


def shown(page: Page, found: Callable[[], Locator]) -> Locator:
    """Reload until what staff recorded through the API reaches the page (the read model
    follows the events); then it must be visible."""
    for _ in range(60):
        if found().count():
            break
        page.wait_for_timeout(250)
        page.reload()
    expect(found().first).to_be_visible()
    return found()


def no_axe_problems(page: Page, stage: str) -> None:
    problems = a11y.violations(page)
    assert not problems, f"{stage}:\n{a11y.summary(problems)}"


def downloaded(page: Page, link: Locator) -> bytes:
    with page.expect_download() as download:
        link.click()
    path = download.value.path()
    assert path is not None
    with open(path, "rb") as saved:
        return saved.read()


def phone(browser: Browser, contexts: list[BrowserContext], system: System, person: Person) -> Page:
    return logged_in(
        browser,
        contexts,
        system,
        person.login,
        person.password,
        viewport=PHONE,
        bypass_csp=True,  # axe is injected as a script
        accept_downloads=True,
    )


def history(http: httpx.Client, system: System, person: Person, staff: dict[str, str], **change: Any) -> str:
    """Submitted, put in work, a chat both ways: the application staff then place the offer on."""
    auth = consumer(system, http, person)
    app_id = submitted(http, auth, **change)
    moved(http, staff, app_id, "transitions", {"to_status": "in_work", "comment": "Заявка принята в работу"})
    chatted(http, auth, app_id, "Добрый день! Когда будет договор?")
    chatted(http, staff, app_id, "Здравствуйте! Договор, ТУ и счёт будут в личном кабинете.")
    return app_id


def test_an_individual_follows_the_process_on_the_application_page(
    system: System, person: Person, staff: dict[str, str], browser: Browser, contexts: list[BrowserContext]
) -> None:
    with system.client() as http:
        app_id = history(http, system, person, staff)
        moved(http, staff, app_id, "offer", offer_body(http, staff, False, 550.0))
    page = phone(browser, contexts, system, person)
    page.goto(f"{system.base_url}/applications/{app_id}")
    expect(page.get_by_test_id("status")).to_have_text("Заключение договора ТП")
    expect(page.get_by_role("log", name="Сообщения переписки")).to_contain_text("Договор, ТУ и счёт")

    docs = page.get_by_role("region", name="Документы сетевой организации")
    expect(docs).to_contain_text("Договор об осуществлении технологического присоединения (оферта)")
    expect(docs).to_contain_text("Технические условия")
    expect(docs).to_contain_text(f"размещён {day_shown()}")
    contract = downloaded(page, docs.get_by_role("link", name="Договор ТП.pdf"))
    assert contract.startswith(b"%PDF") and b"\xd0\x94" in contract  # the file staff placed, by its name
    assert downloaded(page, docs.get_by_role("link", name="Технические условия.pdf")).startswith(b"%PDF")

    invoice = page.get_by_role("region", name="Счёт на оплату")
    expect(invoice.get_by_test_id("invoice-amount")).to_have_text("550,00\u00a0₽")
    expect(invoice.get_by_test_id("invoice-rest")).to_have_text("550,00\u00a0₽")
    expect(invoice.get_by_role("link", name="Скачать счёт с QR-кодом")).to_have_attribute(
        "href", f"/api/v1/applications/{app_id}/invoice"
    )
    how = invoice.get_by_text("По QR-коду.")
    expect(how).to_be_hidden()
    invoice.get_by_text("Оплатить", exact=True).focus()
    page.keyboard.press("Enter")  # a disclosure, from the keyboard: no payment is faked here
    expect(how).to_be_visible()
    expect(invoice).to_contain_text(re.compile(r"в назначении платежа укажите номер заявки ТП-\d{4}-\d{6}"))
    expect(page.get_by_role("button", name="Отозвать заявку")).to_be_visible()  # not concluded yet
    fits_the_phone(page)
    no_axe_problems(page, "the offer placed")

    with system.client() as http:
        moved(
            http,
            staff,
            app_id,
            "payments",
            {"amount_rub": 200.5, "paid_at": today().isoformat(), "reference": "ПП-1"},
        )
    paid = shown(page, lambda: page.get_by_test_id("payments").filter(has_text="200,50"))
    expect(paid).to_have_text(f"{day_shown()} — 200,50\u00a0₽")
    expect(page.get_by_test_id("invoice-rest")).to_have_text("349,50\u00a0₽")
    with system.client() as http:
        moved(
            http,
            staff,
            app_id,
            "payments",
            {"amount_rub": 349.5, "paid_at": today().isoformat(), "reference": "ПП-2"},
        )
    done = shown(page, lambda: page.get_by_test_id("invoice-paid"))
    expect(done).to_have_text(f"Счёт оплачен {day_shown()}: договор заключён.")
    expect(page.get_by_test_id("status")).to_have_text("Выполнение мероприятий по ТП")
    expect(page.get_by_role("button", name="Отозвать заявку")).to_have_count(0)
    terminate = page.get_by_role("region", name="Расторгнуть договор")
    expect(terminate).to_contain_text("отозвать заявку уже нельзя")
    expect(terminate.get_by_role("link", name="Типовые формы")).to_have_attribute("href", "/forms")

    notice = page.get_by_role("region", name="Уведомить о выполнении ТУ")
    notice.get_by_role("button", name="Уведомить о выполнении ТУ").click()  # no file chosen
    files = page.get_by_label("Документы о выполнении ТУ")
    expect(files).to_have_attribute("aria-invalid", "true")
    expect(files).to_have_accessible_description(
        re.compile("^Приложите документы, подтверждающие выполнение ТУ")
    )
    expect(page.get_by_test_id("status")).to_have_text("Выполнение мероприятий по ТП")  # nothing sent
    no_axe_problems(page, "the notice refused")
    files.set_input_files({"name": "Фото щита учёта.pdf", "mimeType": "application/pdf", "buffer": PDF})
    page.get_by_role("button", name="Уведомить о выполнении ТУ").click()
    expect(
        page.get_by_role("status").filter(has_text="Уведомление о выполнении ТУ отправлено")
    ).to_be_visible()
    expect(page.get_by_test_id("status")).to_have_text("Проверка выполнения ТУ")
    expect(page.get_by_role("region", name="Уведомить о выполнении ТУ")).to_have_count(0)

    with system.client() as http:
        seen = http.get(f"/api/v1/applications/{app_id}", headers=staff).json()
        assert seen["status"] == "tu_check"
        moved(
            http,
            staff,
            app_id,
            "connection",
            {"connected_at": today().isoformat(), "voltage_applied_at": today().isoformat()},
        )
        closing = file_in(http, staff, "Уведомление об обеспечении.pdf")
        moved(http, staff, app_id, "company-documents", {"kind": "closing_notice", "file_id": closing})
    shown(page, lambda: page.get_by_test_id("status").filter(has_text="Заявка выполнена"))
    docs = page.get_by_role("region", name="Документы сетевой организации")
    expect(docs).to_contain_text("Уведомление об обеспечении сетевой организацией возможности присоединения")
    assert downloaded(page, docs.get_by_role("link", name="Уведомление об обеспечении.pdf")).startswith(
        b"%PDF"
    )
    milestones = page.get_by_test_id("milestones")
    for title in (
        "Заявка получена и зарегистрирована",
        "Направлены договор (оферта), технические условия и счёт",
        f"Договор ТП заключён — {day_shown()}",
        "Получено уведомление о выполнении ТУ",
        f"Фактическое присоединение — {day_shown()}",
        f"Фактическая подача напряжения — {day_shown()}",
        "Размещены закрывающие документы",
    ):
        expect(milestones).to_contain_text(title)
    expect(page.locator(".timeline")).to_contain_text("Заявка выполнена")  # the status history stays
    expect(page.get_by_role("region", name="Расторгнуть договор")).to_have_count(0)  # completed
    fits_the_phone(page)
    no_axe_problems(page, "completed")
    with system.client() as http:  # the page uploaded the file once, and the notice shared it with staff
        auth = log_in(http, person.login, person.password)
        mine = http.get("/api/v1/files", headers=auth, params={"limit": 50}).json()["items"]
        [photo] = [f["id"] for f in mine if f["name"] == "Фото щита учёта.pdf"]
        for _ in range(100):  # the files service grants it on the notice's event
            if http.get(f"/api/v1/files/{photo}/meta", headers=staff).status_code == 200:
                break
            time.sleep(0.2)
        assert http.get(f"/api/v1/files/{photo}/meta", headers=staff).status_code == 200
