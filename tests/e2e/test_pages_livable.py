"""Pages a person can live with, in headless Chromium, one body per mode: a phone's width
(375 px) after a realistic history, times in the grid company's zone (the chat script and
the server agree), errors as pages, failed posts that redirect back with the message at the
field, no CSRF token in an address, axe-core on the main pages, the company in the footer."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.conftest import Person, new_person
from tests.e2e import a11y
from tests.e2e.process_steps import step
from tests.e2e.test_chat import Parties, Side, new_application, parties, say, upload
from tests.harness import System

__all__ = ["parties"]  # the module-scoped fixture of test_chat.py

pytestmark = pytest.mark.browser
PHONE = {"width": 375, "height": 812}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
TIME = re.compile(r"^\d{2}\.\d{2}\.\d{4} \d{2}:\d{2} \(МСК\)$")


@dataclass
class History:
    application: str  # moved through several statuses, with documents and a chat
    number: str
    other: str  # a second, fresh application


def _status(http: httpx.Client, side: Side, application: str) -> str:
    return str(http.get(f"/api/v1/applications/{application}", headers=side.auth).json()["status"])


@pytest.fixture(scope="module")
def history(system: System, parties: Parties) -> History:
    """The applicant's application, moved «В работе» (with a comment) → «Заключение договора
    ТП» (the offer with its documents) → «Выполнение мероприятий по ТП» (paid), a chat both ways with a file, a file in
    «Мои файлы», and a second application."""
    consumer, staff = parties.consumer, parties.staff
    with system.client() as http:
        application = new_application(http, consumer)
        other = new_application(http, consumer)
        upload(
            http,
            consumer,
            "Выписка из ЕГРН с очень длинным названием файла без пробелов.pdf",
            PDF,
            "application/pdf",
        )
        # «В работе» by a plain move with a comment, then the offer and its full payment.
        for to in ("in_work", "contract", "activities"):
            answer = step(http, staff.auth, consumer.auth, application, to, "Заявка принята в работу")
            assert answer.status_code == 200, answer.text
            deadline = time.monotonic() + 20
            while _status(http, staff, application) != to:
                assert time.monotonic() < deadline, to
                time.sleep(0.1)
        assert say(http, consumer, application, "Добрый день! Когда приедет бригада?").status_code == 201
        file_id = upload(http, staff, "График работ.pdf", PDF, "application/pdf")
        answer = say(http, staff, application, "Здравствуйте! График во вложении.", attachments=[file_id])
        assert answer.status_code == 201, answer.text
        number = str(http.get(f"/api/v1/applications/{application}", headers=consumer.auth).json()["number"])
        deadline = time.monotonic() + 20
        while len(http.get("/api/v1/applications?limit=50", headers=consumer.auth).json()["items"]) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    return History(application, number, other)


def logged_in(
    browser: Browser,
    contexts: list[BrowserContext],
    system: System,
    login: str,
    password: str,
    **options: Any,
) -> Page:
    context = browser.new_context(locale="ru-RU", **options)
    contexts.append(context)
    page = context.new_page()
    page.goto(system.base_url + "/?tab=login")
    page.get_by_label("Логин").fill(login)
    page.get_by_label("Пароль").fill(password)
    page.get_by_role("button", name="Вход").click()
    expect(page).to_have_url(system.base_url + "/cabinet")
    return page


def consumer_pages(history: History) -> list[str]:
    return [
        "/cabinet",
        "/profile",
        "/apply",
        "/apply/individual_15kw",
        "/apply/individual_15kw/new",
        "/applications",
        f"/applications/{history.application}",
        f"/applications/{history.application}/chat",
        "/files",
        "/forms",
    ]


def fits_the_phone(page: Page) -> None:
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url}: the page scrolls sideways ({width} px)"
    logout = page.get_by_role("button", name="Выход")
    expect(logout).to_be_visible()
    box = logout.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (page.url, box)
    logout.click(trial=True)  # nothing covers it


def test_phone_width_no_sideways_scroll_and_logout_reachable(
    system: System, parties: Parties, history: History, browser: Browser, contexts: list[BrowserContext]
) -> None:
    consumer = logged_in(
        browser, contexts, system, parties.consumer.login, parties.consumer.password, viewport=PHONE
    )
    for path in consumer_pages(history):
        consumer.goto(system.base_url + path)
        fits_the_phone(consumer)
    staff = logged_in(browser, contexts, system, parties.staff.login, parties.staff.password, viewport=PHONE)
    for path in (
        "/applications",
        f"/applications?q={history.number}",
        f"/applications/{history.application}",
    ):
        staff.goto(system.base_url + path)
        fits_the_phone(staff)
    # The queue's table scrolls inside its own box, the page does not.
    staff.goto(system.base_url + "/applications")
    assert staff.evaluate(
        "(() => { const t = document.querySelector('table.list'); return t.scrollWidth > t.clientWidth || t.scrollWidth <= 351; })()"
    )
    staff.get_by_role("button", name="Выход").click()
    expect(staff.get_by_role("link", name="Регистрация")).to_be_visible()


def test_main_pages_pass_axe_and_have_their_own_title(
    system: System, parties: Parties, history: History, browser: Browser, contexts: list[BrowserContext]
) -> None:
    found: dict[str, str] = {}
    titles: dict[str, str] = {}
    context = browser.new_context(locale="ru-RU", bypass_csp=True)
    contexts.append(context)
    entry = context.new_page()
    for path in ("/?tab=login", "/?tab=register"):
        entry.goto(system.base_url + path)
        titles[path] = entry.title()
        if problems := a11y.violations(entry):
            found[path] = a11y.summary(problems)
    assert titles["/?tab=login"] == "Вход — Личный кабинет ТП"
    assert titles["/?tab=register"] == "Регистрация — Личный кабинет ТП"

    consumer = logged_in(
        browser, contexts, system, parties.consumer.login, parties.consumer.password, bypass_csp=True
    )
    for path in consumer_pages(history):
        consumer.goto(system.base_url + path)
        titles[path] = consumer.title()
        if problems := a11y.violations(consumer):
            found[path] = a11y.summary(problems)
    staff = logged_in(browser, contexts, system, parties.staff.login, parties.staff.password, bypass_csp=True)
    for path in ("/applications", f"/applications/{history.application}"):
        staff.goto(system.base_url + path)
        titles["staff " + path] = staff.title()
        if problems := a11y.violations(staff):
            found["staff " + path] = a11y.summary(problems)
    assert not found, "\n\n".join(f"{path}:\n{text}" for path, text in found.items())

    assert titles[f"/applications/{history.application}"] == f"Заявка {history.number} — Личный кабинет ТП"
    assert titles["/applications"] == "Заявки на услуги — Личный кабинет ТП"
    assert titles["staff /applications"] == "Очередь заявок — Личный кабинет ТП"
    assert titles["/profile"] == "Профиль — Личный кабинет ТП"
    assert titles["/files"] == "Мои файлы — Личный кабинет ТП"
    assert titles["/forms"] == "Типовые формы — Личный кабинет ТП"
    assert titles["/apply"] == "Подача заявки на ТП — Личный кабинет ТП"
    pages = [
        t for p, t in titles.items() if not p.endswith("/chat") and not p.startswith("staff /applications/")
    ]
    assert len(set(pages)) == len(pages), titles  # every page its own title


def test_times_are_in_the_company_zone_and_the_chat_script_agrees(
    system: System, parties: Parties, history: History, browser: Browser, contexts: list[BrowserContext]
) -> None:
    # The browser is in California; the grid company (LK_TIME_ZONE, default) in Moscow.
    consumer = logged_in(
        browser,
        contexts,
        system,
        parties.consumer.login,
        parties.consumer.password,
        timezone_id="America/Los_Angeles",
    )
    consumer.goto(f"{system.base_url}/applications/{history.application}")
    assert re.search(
        r"Подана — \d{2}\.\d{2}\.\d{4} \d{2}:\d{2} \(МСК\)", consumer.locator(".timeline").inner_text()
    )
    expect(consumer.locator("footer")).to_contain_text("(МСК)")
    chat = f"{system.base_url}/applications/{history.application}/chat"
    consumer.goto(chat)
    served = consumer.request.get(chat).text()
    server_times = re.findall(r'<time datetime="[^"]+">([^<]+)</time>', served)
    assert server_times and all(TIME.match(t) for t in server_times), server_times
    chat_times = consumer.locator("[data-chat-log] time").all_inner_texts()
    assert chat_times == server_times  # the script re-formats them: the same text

    # A live message, formatted by the script, reads as the server shows it after a reload.
    live = consumer.locator("[data-chat][data-connection='live']")
    expect(live).to_have_count(1)
    with system.client() as http:
        assert say(http, parties.staff, history.application, "Бригада приедет завтра.").status_code == 201
    arrived = consumer.locator(".chat-msg", has_text="Бригада приедет завтра.").locator("time")
    expect(arrived).to_have_text(TIME)
    shown_live = arrived.inner_text()
    consumer.reload()
    assert (
        consumer.locator(".chat-msg", has_text="Бригада приедет завтра.").locator("time").inner_text()
        == shown_live
    )
    # The list: submitted and changed, in the company's zone too.
    consumer.goto(system.base_url + "/applications")
    row = consumer.locator("tr", has=consumer.get_by_role("link", name=history.number))
    assert len(re.findall(r"\d{2}\.\d{2}\.\d{4} \d{2}:\d{2} \(МСК\)", row.inner_text())) == 2


def test_errors_are_pages_with_the_header(
    system: System, parties: Parties, browser: Browser, contexts: list[BrowserContext]
) -> None:
    page = logged_in(browser, contexts, system, parties.consumer.login, parties.consumer.password)
    answer = page.goto(system.base_url + "/no/such/page")
    assert answer is not None and answer.status == 404
    assert answer.headers["content-type"].startswith("text/html")
    expect(page.get_by_role("heading", name="Страница не найдена")).to_be_visible()
    expect(page.get_by_role("button", name="Выход")).to_be_visible()
    assert page.title() == "Страница не найдена — Личный кабинет ТП"
    # A form's address opened as a page (a reload of a post, a bookmark): a page, not JSON.
    for path in ("/profile/password", "/logout", f"/applications/{parties.consumer.account_id}/transition"):
        answer = page.goto(system.base_url + path)
        assert answer is not None and answer.status == 405, path
        expect(page.get_by_role("heading", name="Страница открыта не так")).to_be_visible()
        expect(page.get_by_role("button", name="Выход")).to_be_visible()
    # The API keeps its JSON.
    with system.client() as http:
        api = http.get("/api/v1/no-such-thing")
        assert api.status_code == 404 and api.json()["code"] == "not_found"
        icon = http.get("/favicon.ico")
        assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
        assert "max-age" in icon.headers["cache-control"] and icon.content[:4] == b"\x00\x00\x01\x00"
        anonymous = http.get("/no/such/page")
        assert anonymous.status_code == 404 and "Выход" not in anonymous.text and "<h1>" in anonymous.text


def test_failed_posts_redirect_back_with_the_message_at_the_field(
    system: System, person: Person, browser: Browser, contexts: list[BrowserContext]
) -> None:
    context = browser.new_context(locale="ru-RU")
    contexts.append(context)
    page = context.new_page()
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.goto(system.base_url + "/?tab=register")
    page.get_by_label("E-mail").fill("not-an-address")
    page.get_by_label("Пароль", exact=True).fill("x")
    page.get_by_role("button", name="Зарегистрироваться").click()
    expect(page).to_have_url(system.base_url + "/?tab=register")  # redirected back (303)
    login = page.get_by_label("Логин")
    expect(login).to_have_accessible_description(re.compile("^Укажите логин"))
    expect(login).to_be_focused()  # the first field in error
    expect(login).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("E-mail")).to_have_accessible_description(
        re.compile("^Укажите адрес e-mail в формате name@example.ru")
    )
    expect(page.get_by_label("E-mail")).to_have_value("not-an-address")  # kept
    expect(page.get_by_label("Пароль", exact=True)).to_have_value("")  # a password never is
    expect(
        page.get_by_text("На этот адрес придёт ссылка для подтверждения.")
    ).to_be_visible()  # the hint stays
    expect(page.get_by_role("alert")).to_have_count(0)  # no banner: everything is at its field
    assert len(posts) == 1
    page.reload()  # reloads the page, posts nothing, and the flash was shown once
    assert len(posts) == 1
    expect(page.get_by_text("Укажите логин")).to_have_count(0)

    page.get_by_label("Логин").fill(person.login)
    page.get_by_label("E-mail").fill(person.email)
    page.get_by_label("Пароль", exact=True).fill("short")
    page.get_by_label("Пароль ещё раз").fill("short")
    page.get_by_role("button", name="Зарегистрироваться").click()
    expect(page).to_have_url(system.base_url + "/?tab=register")
    expect(page.get_by_label("Пароль", exact=True)).to_have_accessible_description(
        re.compile("^Пароль должен содержать не менее 10 символов")
    )
    expect(page.get_by_label("Логин")).to_have_value(person.login)

    with system.client() as http:
        assert http.post("/api/v1/accounts", json=person.registration()).status_code == 201
    page.get_by_label("Пароль", exact=True).fill(person.password)
    page.get_by_label("Пароль ещё раз").fill(person.password)
    page.get_by_role("button", name="Зарегистрироваться").click()
    expect(page.get_by_label("Логин")).to_have_accessible_description(re.compile("^Этот логин уже занят"))

    # The login form: an empty login is said at the field; wrong credentials in a banner.
    page.goto(system.base_url + "/?tab=login")
    page.get_by_role("button", name="Вход").click()
    expect(page.get_by_label("Логин")).to_have_accessible_description("Укажите логин")
    expect(page.get_by_label("Пароль")).to_have_accessible_description("Укажите пароль")
    page.get_by_label("Логин").fill(person.login)
    page.get_by_label("Пароль").fill("wrong-password-1")
    page.get_by_role("button", name="Вход").click()
    expect(page.get_by_role("alert")).to_contain_text("Неверный логин или пароль")
    expect(page.get_by_label("Логин")).to_have_value(person.login)
    posted = len(posts)
    page.reload()
    assert len(posts) == posted
    expect(page.get_by_role("alert")).to_have_count(0)


def test_no_csrf_token_in_an_address_and_no_js_upload_works(
    system: System, browser: Browser, contexts: list[BrowserContext]
) -> None:
    someone = new_person()
    with system.client() as http:
        from tests.e2e.helpers import register_and_confirm

        register_and_confirm(system, http, someone)
    page = logged_in(browser, contexts, system, someone.login, someone.password, java_script_enabled=False)
    for path in ("/files", "/forms", "/profile", "/cabinet"):
        page.goto(system.base_url + path)
        html = page.content()
        assert not re.search(r"(action|href)=\"[^\"]*csrf", html, re.I), path
    page.goto(system.base_url + "/files")
    page.get_by_label("Файл", exact=True).set_input_files(
        {"name": "Паспорт.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    page.get_by_role("button", name="Загрузить").click()
    expect(page.get_by_role("status").filter(has_text="Файл «Паспорт.pdf» загружен.")).to_be_visible()
    page.get_by_label("Файл", exact=True).set_input_files(
        {"name": "вирус.pdf", "mimeType": "application/pdf", "buffer": b"MZ" + bytes(64)}
    )
    page.get_by_role("button", name="Загрузить").click()
    expect(page).to_have_url(system.base_url + "/files")  # back to the page, not a page of the post
    expect(page.get_by_role("alert")).to_contain_text("Этот тип файла не принимается")
    # A post from elsewhere (no same-origin signal) is refused, whatever token it carries.
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    with system.client() as http:
        http.cookies.update(cookies)
        forged = http.post(
            f"/upload/file?csrf={cookies['lk_csrf']}",
            files={"file": ("a.pdf", PDF)},
            headers={"origin": "https://evil.example"},
        )
        assert forged.status_code == 303 and forged.headers["location"] == "/files"
        assert "Форма устарела" in http.get("/files").text
