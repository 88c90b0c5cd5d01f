"""The journey through the pages in headless Chromium (Debian's package driven by
Playwright): register as «Потребитель», follow the e-mailed link, confirm, log in,
see the name, log out."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import Person, new_person
from tests.e2e.files_helpers import zip_bytes
from tests.e2e.helpers import link_in, mails_with, register_and_confirm
from tests.e2e.test_identity_complete import NEW_PASSWORD, create_staff
from tests.harness import System

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="ru-RU")
    yield context.new_page()
    context.close()


def test_journey_through_the_pages(system: System, person: Person, page: Page) -> None:
    page.goto(system.base_url + "/")
    expect(page.get_by_role("heading", name="Личный кабинет")).to_be_visible()
    page.get_by_role("link", name="Регистрация").click()
    expect(page.get_by_label("Тип аккаунта")).to_have_value("consumer")
    expect(page.get_by_label("Тип аккаунта").locator("option:checked")).to_have_text("Потребитель")

    page.get_by_label("Логин").fill(person.login)
    page.get_by_label("E-mail").fill(person.email)
    page.get_by_label("Пароль", exact=True).fill(person.password)
    page.get_by_label("Пароль ещё раз").fill("something else entirely")
    page.get_by_role("button", name="Зарегистрироваться").click()
    expect(page.get_by_text("Пароли не совпадают")).to_be_visible()

    page.get_by_label("Пароль", exact=True).fill(person.password)
    page.get_by_label("Пароль ещё раз").fill(person.password)
    page.get_by_role("button", name="Зарегистрироваться").click()
    expect(page.get_by_role("status")).to_contain_text(person.email)

    # Logging in before confirming explains what to do.
    page.goto(system.base_url + "/?tab=login")
    page.get_by_label("Логин").fill(person.login)
    page.get_by_label("Пароль").fill(person.password)
    page.get_by_role("button", name="Вход").click()
    expect(page.get_by_role("alert")).to_contain_text("не подтверждён")

    link = link_in(system.mailbox.wait_for(person.email)[0])
    assert "confirm" in link and "token=" in link
    page.goto(link)
    page.get_by_role("button", name="Подтвердить адрес e-mail").click()
    expect(page.get_by_role("status")).to_contain_text("подтверждён")

    page.get_by_role("link", name="Вход").first.click()
    page.get_by_label("Логин").fill(person.login)
    page.get_by_label("Пароль").fill(person.password)
    page.get_by_role("button", name="Вход").click()
    expect(page).to_have_url(system.base_url + "/cabinet")
    expect(page.get_by_test_id("display-name")).to_have_text(person.login)

    # The session cookie is HttpOnly: page scripts cannot read it.
    assert "lk_session" not in page.evaluate("document.cookie")
    session_cookie = next(c for c in page.context.cookies() if c["name"] == "lk_session")
    assert session_cookie["httpOnly"] is True

    page.get_by_role("button", name="Выход").click()
    expect(page.get_by_role("link", name="Регистрация")).to_be_visible()
    page.goto(system.base_url + "/cabinet")
    expect(page).to_have_url(system.base_url + "/?tab=login")


def test_pages_work_from_the_keyboard(system: System, page: Page) -> None:
    page.goto(system.base_url + "/")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Перейти к содержанию")).to_be_focused()
    page.get_by_label("Логин").focus()
    page.keyboard.type("nobody_at_all")
    page.keyboard.press("Tab")
    page.keyboard.type("Wrong-password-123")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("Неверный логин или пароль")


def _log_in(page: Page, system: System, login: str, password: str) -> None:
    page.goto(system.base_url + "/?tab=login")
    page.get_by_label("Логин").fill(login)
    page.get_by_label("Пароль").fill(password)
    page.get_by_role("button", name="Вход").click()
    expect(page).to_have_url(system.base_url + "/cabinet")


def test_profile_and_password_change_through_the_pages(system: System, person: Person, page: Page) -> None:
    with system.client() as http:
        register_and_confirm(system, http, person)
    _log_in(page, system, person.login, person.password)
    page.get_by_role("navigation", name="Главное меню").get_by_role("link", name="Профиль").click()
    page.get_by_label("Фамилия", exact=True).fill("Петрова")
    page.get_by_label("Имя", exact=True).fill("<b>Анна</b>")
    page.get_by_role("button", name="Обновить профиль").click()
    expect(page.get_by_role("status")).to_contain_text("Профиль обновлён")
    expect(page.get_by_test_id("display-name")).to_have_text("<b>Анна</b> Петрова")  # shown as text

    page.get_by_label("Текущий пароль").fill("wrong-password-1")
    page.get_by_label("Новый пароль", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Новый пароль ещё раз").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Сменить пароль").click()
    expect(page.get_by_label("Текущий пароль")).to_have_accessible_description(
        "Текущий пароль указан неверно"
    )

    page.get_by_label("Текущий пароль").fill(person.password)
    page.get_by_label("Новый пароль", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Новый пароль ещё раз").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Сменить пароль").click()
    expect(page.get_by_role("status")).to_contain_text("Пароль изменён")
    page.get_by_role("button", name="Выход").click()
    _log_in(page, system, person.login, NEW_PASSWORD)


def test_password_reset_through_the_pages(system: System, person: Person, page: Page) -> None:
    with system.client() as http:
        register_and_confirm(system, http, person)
    page.goto(system.base_url + "/?tab=login")
    page.get_by_role("link", name="Забыли пароль?").click()
    page.get_by_label("E-mail").fill(person.email)
    page.get_by_role("button", name="Отправить ссылку").click()
    expect(page.get_by_role("status")).to_contain_text("ссылка для смены пароля")

    link = link_in(mails_with(system, person.email, "Смена пароля")[0])
    assert "reset" in link and "token=" in link
    page.goto(link)
    page.get_by_label("Новый пароль", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Новый пароль ещё раз").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Сохранить пароль").click()
    expect(page.get_by_role("status")).to_contain_text("Пароль изменён")
    # The link works once.
    page.goto(link)
    page.get_by_label("Новый пароль", exact=True).fill(NEW_PASSWORD + "x")
    page.get_by_label("Новый пароль ещё раз").fill(NEW_PASSWORD + "x")
    page.get_by_role("button", name="Сохранить пароль").click()
    expect(page.get_by_role("alert")).to_contain_text("недействительна")
    _log_in(page, system, person.login, NEW_PASSWORD)


def test_the_users_document_end_to_end(
    system: System, person: Person, browser: Browser, tmp_path: Path
) -> None:
    """Register → pick the type → download the form → attach → send → staff move it →
    the consumer sees the status and has the e-mails."""
    staff = new_person()
    create_staff(system, staff.login, staff.email)
    with system.client() as http:
        register_and_confirm(system, http, person)
    archive = tmp_path / "Документы для заявки.zip"
    archive.write_bytes(zip_bytes())

    consumer_page = browser.new_context(locale="ru-RU", accept_downloads=True).new_page()
    _log_in(consumer_page, system, person.login, person.password)
    consumer_page.get_by_role("navigation", name="Главное меню").get_by_role(
        "link", name="Подача заявки на ТП"
    ).click()
    consumer_page.get_by_role(
        "link", name="Заявка физического лица на присоединение до 15 кВт включительно"
    ).click()
    expect(consumer_page.get_by_role("heading", name="Срок")).to_be_visible()
    with consumer_page.expect_download() as download:
        consumer_page.get_by_role("link", name="Скачать форму заявки").click()
    saved = tmp_path / "form.docx"
    download.value.save_as(saved)
    assert saved.read_bytes()[:2] == b"PK"  # a real DOCX (a ZIP container)

    consumer_page.get_by_role("link", name="Подать заявку на ТП").click()
    consumer_page.get_by_label("Максимальная мощность").fill("12")
    consumer_page.get_by_label("Адрес объекта").fill("г. Тверь, ул. Садовая, д. 7")
    consumer_page.get_by_label("Телефон").fill("+7 900 123-45-67")
    consumer_page.get_by_label("Архив документов (ZIP)").set_input_files(str(archive))
    consumer_page.get_by_role("button", name="Отправить заявку на ТП").click()
    expect(consumer_page).to_have_url(re.compile(r"/applications\?submitted="))
    expect(consumer_page.get_by_role("heading", name="Заявки на услуги")).to_be_visible()
    expect(consumer_page.get_by_test_id("status").first).to_have_text("Подана")
    number = consumer_page.get_by_role("link", name=re.compile(r"ТП-\d{4}-\d{6}")).first.inner_text()

    staff_page = browser.new_context(locale="ru-RU").new_page()
    _log_in(staff_page, system, staff.login, NEW_PASSWORD)
    staff_page.get_by_role("navigation", name="Главное меню").get_by_role(
        "link", name="Очередь заявок"
    ).click()
    staff_page.get_by_label("Поиск").fill(number)
    staff_page.get_by_role("button", name="Показать").click()
    staff_page.get_by_role("link", name=number).click()
    staff_page.get_by_label("Комментарий").fill("Заявка принята в работу")
    staff_page.get_by_role("button", name="Сохранить статус").click()
    expect(staff_page.get_by_test_id("status")).to_have_text("В работе")

    consumer_page.reload()
    expect(consumer_page.get_by_test_id("status").first).to_have_text("В работе")
    consumer_page.get_by_role("link", name=number).click()
    expect(consumer_page.get_by_text("Заявка принята в работу")).to_be_visible()
    assert len(mails_with(system, person.email, f"Заявка {number} принята")) == 1
    assert len(mails_with(system, person.email, "В работе")) == 1
