"""The offer on the consumer's application page (issue 12), in headless Chromium at 375 px,
one body per mode: a company refuses an offer that needs a signature, with a reason and after a
confirmation; signs it with the one-time code from the e-mail (a wrong code is refused at the
field); sees the deadlines with their duty holder and downloads the invoice with its QR code.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from shared.format import today
from tests.conftest import Person, new_person
from tests.e2e.process_steps import offer_body
from tests.e2e.test_applications import consumer
from tests.e2e.test_pages_livable import fits_the_phone
from tests.e2e.test_process import staff
from tests.e2e.test_process_pages import downloaded, history, moved, no_axe_problems, phone, shown
from tests.harness import System

__all__ = ["staff"]  # the fixture of test_process.py

pytestmark = pytest.mark.browser


def test_a_company_refuses_the_signed_offer_with_a_reason_after_a_confirmation(
    system: System, person: Person, staff: dict[str, str], browser: Browser, contexts: list[BrowserContext]
) -> None:
    with system.client() as http:
        app_id = history(http, system, person, staff, type_code="legal_150_670kw", power_kw=300)
        moved(http, staff, app_id, "offer", offer_body(http, staff, True, 1_250_000.75))
    page = phone(browser, contexts, system, person)
    page.goto(f"{system.base_url}/applications/{app_id}")
    sign = page.get_by_role("region", name="Подписание договора")
    expect(sign.get_by_role("button", name="Получить код")).to_be_visible()
    expect(page.get_by_test_id("invoice-amount")).to_have_text("1\u202f250\u202f000,75\u00a0₽")
    no_axe_problems(page, "an offer to sign")
    sign.get_by_role("button", name="Отказаться от договора").click()  # no reason
    reason = page.get_by_label("Причина отказа (обязательно)")
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(reason).to_have_accessible_description("Укажите причину отказа от договора.")
    reason.fill("Срок мероприятий не подходит: нужен ввод до конца квартала")
    page.get_by_role("button", name="Отказаться от договора").click()
    confirm = page.get_by_role("region", name=re.compile(r"^Отказаться от договора по заявке"))
    expect(confirm).to_contain_text("Это действие нельзя отменить")
    expect(page.get_by_test_id("status")).to_have_text("Заключение договора ТП")  # nothing yet
    fits_the_phone(page)
    no_axe_problems(page, "the refusal to confirm")
    confirm.get_by_role("button", name="Да, отказаться от договора").click()
    expect(page.get_by_role("status").filter(has_text="Вы отказались от договора")).to_be_visible()
    expect(page.get_by_test_id("refusal")).to_contain_text("Срок мероприятий не подходит")
    expect(page.get_by_role("region", name="Подписание договора")).to_have_count(0)
    with system.client() as http:
        seen = http.get(f"/api/v1/applications/{app_id}", headers=staff).json()
        assert (
            seen["offer"]["refusal"]["comment"]
            == "Срок мероприятий не подходит: нужен ввод до конца квартала"
        )
        assert seen["offer"]["concluded_on"] is None


def test_another_consumer_gets_404_and_their_posts_record_nothing(
    system: System, person: Person, staff: dict[str, str], browser: Browser, contexts: list[BrowserContext]
) -> None:
    with system.client() as http:
        app_id = history(http, system, person, staff, type_code="legal_150_670kw", power_kw=300)
        moved(http, staff, app_id, "offer", offer_body(http, staff, True, 1_000))
        version = http.get(f"/api/v1/applications/{app_id}", headers=staff).json()["version"]
        other = new_person()
        consumer(system, http, other)
    page = phone(browser, contexts, system, other)
    answer = page.goto(f"{system.base_url}/applications/{app_id}")
    assert answer is not None and answer.status == 404
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "lk_csrf")
    for action, form in (
        ("refusal", {"refusal_comment": "Не мой договор", "confirm": "yes"}),
        ("acceptance", {"code": "123456"}),
        ("acceptance/code", {}),
    ):
        posted = page.request.post(
            f"{system.base_url}/applications/{app_id}/{action}", form={"csrf": csrf, **form}
        )
        assert posted.status == 404, action  # back to the page, which does not exist for them
    with system.client() as http:
        seen = http.get(f"/api/v1/applications/{app_id}", headers=staff).json()
        assert (seen["version"], seen["offer"]["refusal"]) == (version, None)


def signature_code(system: System, person: Person) -> str:
    """The one-time code of the latest signature e-mail to ``person``."""
    for _ in range(150):
        texts = [m.text for m in system.mailbox.messages_to(person.email) if "Код для подписания" in m.text]
        if texts:
            found = re.search(r"Код для подписания договора по заявке \S+: (\d{6})", texts[-1])
            assert found, texts[-1]
            return found.group(1)
        time.sleep(0.2)
    raise AssertionError("no e-mail with the signature code")


def test_a_company_signs_the_offer_with_the_code_from_the_mail(
    system: System, person: Person, staff: dict[str, str], browser: Browser, contexts: list[BrowserContext]
) -> None:
    with system.client() as http:
        app_id = history(http, system, person, staff, type_code="legal_150_670kw", power_kw=300)
        moved(http, staff, app_id, "offer", offer_body(http, staff, True, 1_250_000.75))
    page = phone(browser, contexts, system, person)
    page.goto(f"{system.base_url}/applications/{app_id}")
    page.get_by_role("region", name="Подписание договора").get_by_role("button", name="Получить код").click()
    expect(page.get_by_role("status").filter(has_text="Код отправлен")).to_be_visible()
    code = page.get_by_label("Код из письма")
    expect(code).to_be_focused()
    right = signature_code(system, person)
    code.fill("000000" if right != "000000" else "111111")
    page.get_by_role("button", name="Подписать").click()
    expect(page.get_by_label("Код из письма")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_test_id("status")).to_have_text("Заключение договора ТП")  # nothing signed
    no_axe_problems(page, "a wrong code")
    page.get_by_label("Код из письма").fill(right)
    page.get_by_role("button", name="Подписать").click()
    expect(page.get_by_role("status").filter(has_text="Договор подписан")).to_be_visible()
    expect(page.get_by_test_id("status")).to_have_text("Выполнение мероприятий по ТП")
    docs = page.get_by_role("region", name="Документы сетевой организации")
    expect(docs).to_contain_text("Подписано ПЭП")
    expect(page.get_by_role("region", name="Расторгнуть договор")).to_be_visible()
    expect(page.get_by_role("region", name="Уведомить о выполнении ТУ")).to_be_visible()


def test_the_deadlines_and_the_invoice_with_its_qr_code(
    system: System, person: Person, staff: dict[str, str], browser: Browser, contexts: list[BrowserContext]
) -> None:
    with system.client() as http:
        app_id = history(http, system, person, staff)
        moved(http, staff, app_id, "offer", offer_body(http, staff, False, 550.0))
    page = phone(browser, contexts, system, person)
    page.goto(f"{system.base_url}/applications/{app_id}")
    deadlines = page.get_by_role("region", name="Сроки")
    expect(deadlines).to_contain_text(
        re.compile(r"Вам нужно до \d{2}\.\d{2}\.\d{4}: .+ — осталось \d+ рабоч")
    )
    invoice = downloaded(page, page.get_by_role("link", name="Скачать счёт с QR-кодом"))
    assert invoice[:2] == b"PK"  # a DOCX (a ZIP container) with the QR code
    with system.client() as http:
        moved(
            http,
            staff,
            app_id,
            "payments",
            {"amount_rub": 550, "paid_at": today().isoformat(), "reference": "П-1"},
        )
    shown(page, lambda: page.get_by_test_id("invoice-paid"))
    expect(page.get_by_role("region", name="Сроки")).to_contain_text(
        re.compile(r"Сетевая организация обязана до \d{2}\.\d{2}\.\d{4}: ")
    )
    no_axe_problems(page, "deadlines")
