"""The journey through the pages in headless Chromium (Debian's package driven by
Playwright): register as «Потребитель», follow the e-mailed link, confirm, log in,
see the name, log out; file an application (a refused form keeps its files), follow it
through its statuses, send the requested documents, chat, and come back by an e-mailed link."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import Person, new_person
from tests.e2e.files_helpers import zip_bytes
from tests.e2e.helpers import link_in, log_in, mails_with, register_and_confirm
from tests.e2e.test_identity_complete import NEW_PASSWORD, create_staff
from tests.harness import System

pytestmark = pytest.mark.browser


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
    expect(staff_page.locator("input[name=to_status]:checked")).to_have_count(0)  # nothing chosen for them
    staff_page.get_by_label("В работе", exact=True).check()
    staff_page.get_by_label("Комментарий").fill("Заявка принята в работу")
    staff_page.get_by_role("button", name="Сохранить статус").click()
    expect(staff_page.get_by_test_id("status")).to_have_text("В работе")

    consumer_page.reload()
    expect(consumer_page.get_by_test_id("status").first).to_have_text("В работе")
    consumer_page.get_by_role("link", name=number).click()
    expect(consumer_page.get_by_text("Заявка принята в работу")).to_be_visible()
    assert len(mails_with(system, person.email, f"Заявка {number} принята")) == 1
    assert len(mails_with(system, person.email, "В работе")) == 1


PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def pdf(name: str) -> dict[str, Any]:
    return {"name": name, "mimeType": "application/pdf", "buffer": PDF + name.encode()}


def _slot(page: Page, title: str) -> Any:
    return page.get_by_label(title, exact=False)


def test_a_refused_form_keeps_its_files_and_says_what_is_wrong(
    system: System, person: Person, page: Page
) -> None:
    """Issue 10 §3: the form comes back with the uploaded files kept, the fields and slots at
    fault marked in words; the files are sent once, with the application."""
    with system.client() as http:
        register_and_confirm(system, http, person)
        auth = log_in(http, person.login, person.password)
    _log_in(page, system, person.login, person.password)
    page.goto(system.base_url + "/apply/individual_15kw/new")
    page.get_by_label("Максимальная мощность").fill("16")
    page.get_by_label("Адрес объекта").fill("г. Тверь, ул. Садовая, д. 7")
    page.get_by_label("Телефон").fill("+7 900 123-45-67")
    page.get_by_label("Комментарий").fill("Дом достроен, прошу ускорить")
    _slot(page, "План расположения").set_input_files(pdf("План.pdf"))
    page.get_by_role("button", name="Отправить заявку на ТП").click()

    expect(page.get_by_role("alert")).to_contain_text("максимальная мощность — 15")
    expect(page.get_by_label("Максимальная мощность")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Максимальная мощность")).to_have_value("16")
    expect(page.get_by_label("Комментарий")).to_have_value("Дом достроен, прошу ускорить")
    expect(page.get_by_text("Уже загружен: План.pdf")).to_be_visible()
    assert "documents:" not in page.content() and "power_kw" not in page.inner_text("main")

    page.get_by_label("Максимальная мощность").fill("12")
    page.get_by_role("button", name="Отправить заявку на ТП").click()  # still no title, passport
    expect(page.get_by_role("alert")).to_contain_text("Не приложены обязательные документы")
    for title in ("Копия документа о праве собственности", "Копия паспорта"):
        expect(_slot(page, title)).to_have_attribute("aria-invalid", "true")
    expect(_slot(page, "План расположения")).not_to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text("Уже загружен: План.pdf")).to_be_visible()

    _slot(page, "Архив документов (ZIP)").set_input_files(
        {"name": "Документы.zip", "mimeType": "application/zip", "buffer": zip_bytes()}
    )
    page.get_by_role("button", name="Отправить заявку на ТП").click()
    expect(page).to_have_url(re.compile(r"/applications\?submitted="))
    with system.client() as http:
        [item] = http.get("/api/v1/applications", headers=auth).json()["items"]
        seen = http.get(f"/api/v1/applications/{item['id']}", headers=auth).json()
        files = http.get("/api/v1/files", headers=auth, params={"limit": 50}).json()["items"]
    assert sorted((d["slot"], d["name"]) for d in seen["documents"]) == [
        ("archive", "Документы.zip"),
        ("site_plan", "План.pdf"),
    ]
    assert sorted(f["name"] for f in files) == ["Документы.zip", "План.pdf"]  # each uploaded once
    assert seen["comment"] == "Дом достроен, прошу ускорить"


def test_documents_chat_and_an_emailed_link_through_the_pages(
    system: System, person: Person, browser: Browser
) -> None:
    """Issue 10 §2–3, in the order things happen: an application with a history; staff ask for
    documents; the applicant sends them per slot on the application page and writes in its
    chat; the queue shows «документы получены» and the unread badge; staff see the contact,
    annul after a confirmation; the applicant follows the e-mailed link through the login."""
    staff = new_person()
    create_staff(system, staff.login, staff.email)
    with system.client() as http:
        register_and_confirm(system, http, person)
        auth = log_in(http, person.login, person.password)
        employee = log_in(http, staff.login, NEW_PASSWORD)
        archive = http.post(
            "/api/v1/files", headers=auth, files={"file": ("Документы.zip", zip_bytes(), "application/zip")}
        ).json()["id"]
        body = {
            "type_code": "individual_15kw",
            "power_kw": 12,
            "object_address": "г. Тверь, ул. Садовая, д. 7",
            "contact": {"phone": "+7 900 765-43-21", "email": "dacha@example.ru"},
            "documents": [{"slot": "archive", "file_id": archive}],
            "comment": "Звоните после 18:00",
        }
        created = http.post("/api/v1/applications", headers=auth, json=body).json()
        app_id, number = created["id"], created["number"]
        moved = http.post(  # within the completeness check, from «Подана»
            f"/api/v1/applications/{app_id}/transitions",
            headers=employee,
            json={"to_status": "needs_documents", "comment": "Нужен план участка"},
        )
        assert moved.status_code == 200, moved.text

    applicant = browser.new_context(locale="ru-RU").new_page()
    _log_in(applicant, system, person.login, person.password)
    applicant.goto(f"{system.base_url}/applications/{app_id}")
    expect(applicant.get_by_role("heading", name="Переписка с сетевой организацией")).to_be_visible()
    expect(applicant.get_by_role("link", name="Переписка по заявке на отдельной странице")).to_have_attribute(
        "href", f"/applications/{app_id}/chat"
    )
    _slot(applicant, "План расположения").set_input_files(pdf("План участка.pdf"))
    applicant.get_by_role("button", name="Отправить документы").click()
    expect(applicant.get_by_role("status").filter(has_text="Документы отправлены")).to_be_visible()
    expect(applicant.get_by_test_id("status")).to_have_text("В работе")
    history = applicant.locator(".timeline")
    expect(history).to_contain_text("Заявитель добавил документы")
    expect(history.get_by_role("link", name="План участка.pdf")).to_be_visible()
    applicant.get_by_label("Сообщение").fill("План участка отправил.")
    applicant.get_by_role("button", name="Отправить сообщение").click()
    expect(applicant.get_by_role("log", name="Сообщения переписки")).to_contain_text("План участка отправил.")

    desk = browser.new_context(locale="ru-RU").new_page()
    _log_in(desk, system, staff.login, NEW_PASSWORD)
    desk.goto(f"{system.base_url}/applications?q={number}")
    badge = desk.get_by_role("link", name="1 непрочитанное сообщение")
    for _ in range(50):
        if badge.count():
            break
        desk.wait_for_timeout(300)
        desk.reload()
    expect(badge).to_be_visible()
    expect(desk.get_by_test_id("documents-received")).to_have_text("документы получены")
    desk.get_by_role("link", name=number).click()
    expect(desk.get_by_test_id("contact-phone")).to_have_text("+7 900 765-43-21")
    expect(desk.get_by_test_id("contact-email")).to_have_text("dacha@example.ru")
    expect(desk.get_by_test_id("applicant-comment")).to_have_text("Звоните после 18:00")
    expect(desk.get_by_role("log", name="Сообщения переписки")).to_contain_text("План участка отправил.")
    expect(desk.locator("input[name=to_status]:checked")).to_have_count(0)
    desk.get_by_label("Аннулирована", exact=True).check()
    desk.get_by_label("Комментарий").fill("Объект не соответствует заявке")
    desk.get_by_role("button", name="Сохранить статус").click()
    expect(desk.get_by_role("heading", name=f"Аннулировать заявку {number}?")).to_be_visible()
    expect(desk.get_by_test_id("status")).to_have_text("В работе")  # nothing yet
    desk.get_by_role("button", name="Да, аннулировать заявку").click()
    expect(desk.get_by_test_id("status")).to_have_text("Аннулирована")

    [mail] = mails_with(system, person.email, f"Заявка {number}: Аннулирована")
    link = next(word for word in mail.text.split() if "/applications/" in word)
    applicant.get_by_role("button", name="Выход").click()
    applicant.goto(link)
    expect(applicant).to_have_url(re.compile(r"/\?tab=login&next="))
    applicant.get_by_label("Логин").fill(person.login)
    applicant.get_by_label("Пароль").fill(person.password)
    applicant.get_by_role("button", name="Вход").click()
    expect(applicant).to_have_url(f"{system.base_url}/applications/{app_id}")
    expect(applicant.get_by_test_id("status")).to_have_text("Аннулирована")
