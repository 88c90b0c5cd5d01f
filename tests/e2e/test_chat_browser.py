"""The chat in headless Chromium, one body per mode: an applicant and a staff member in two
browser contexts exchange messages live (typing, read receipts, presence, a file with
progress, markup shown as text), a message typed while the socket is down is queued and
posted once, and the page works without JavaScript."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, WebSocketRoute, expect

from tests.e2e.test_chat import Parties, Side, messages, new_application, parties, say
from tests.harness import System

__all__ = ["parties"]  # the module-scoped fixture, shared with test_chat.py

pytestmark = pytest.mark.browser
XSS = '<img src=x onerror="window.__xss = 1"><script>window.__xss = 2</script>'


def open_chat(
    browser: Browser,
    contexts: list[BrowserContext],
    system: System,
    side: Side,
    application: str,
    **options: Any,
) -> Page:
    """A fresh browser context logged in through the page, on the application's chat."""
    context = browser.new_context(locale="ru-RU", **options)
    contexts.append(context)
    page = context.new_page()
    page.goto(system.base_url + "/?tab=login")
    page.get_by_label("Логин").fill(side.login)
    page.get_by_label("Пароль").fill(side.password)
    page.get_by_role("button", name="Вход").click()
    expect(page).to_have_url(system.base_url + "/cabinet")
    page.goto(f"{system.base_url}/applications/{application}/chat")
    return page


def log_of(page: Page) -> Any:
    return page.get_by_role("log", name="Сообщения переписки")


def test_two_parties_chat_live_in_two_browsers(
    system: System, parties: Parties, browser: Browser, contexts: list[BrowserContext]
) -> None:
    with system.client() as http:
        application = new_application(http, parties.consumer)
    consumer = open_chat(browser, contexts, system, parties.consumer, application)
    expect(consumer.get_by_text("Сообщений пока нет.")).to_be_visible()
    staff = open_chat(browser, contexts, system, parties.staff, application)
    expect(staff.get_by_role("heading", name="Переписка с заявителем")).to_be_visible()
    expect(consumer.get_by_text("Сотрудник сетевой организации в сети")).to_be_visible()

    # From the keyboard: the text field, then Ctrl+Enter.
    consumer.get_by_label("Сообщение").focus()
    consumer.keyboard.type("Добрый день! Когда будет готов договор?")
    expect(staff.get_by_text("Заявитель печатает…")).to_be_visible()
    consumer.keyboard.press("Control+Enter")
    expect(log_of(staff)).to_contain_text("Добрый день! Когда будет готов договор?")
    expect(consumer.get_by_label("Сообщение")).to_have_value("")

    # Staff answer with a file: it is uploaded first (progress), then sent with the message.
    staff.get_by_label("Сообщение").fill("Договор во вложении, проверьте реквизиты.")
    staff.get_by_label("Приложить файлы (необязательно, до 10)").set_input_files(
        {"name": "Договор ТП.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n%%EOF\n"}
    )
    staff.get_by_role("button", name="Отправить сообщение").click()
    expect(log_of(consumer)).to_contain_text("Договор во вложении, проверьте реквизиты.")
    expect(consumer.get_by_role("link", name="Договор ТП.pdf")).to_be_visible()
    # The applicant's page is visible, so it sends a read receipt: staff see «прочитано».
    expect(staff.locator(".chat-msg.mine [data-state]")).to_have_text("прочитано")

    consumer.get_by_label("Сообщение").fill(XSS)
    consumer.get_by_role("button", name="Отправить сообщение").click()
    expect(log_of(staff)).to_contain_text(XSS)
    staff.reload()
    expect(log_of(staff)).to_contain_text(XSS)
    for page in (consumer, staff):
        assert page.evaluate("window.__xss") is None
        assert page.locator("[data-chat-log] img, [data-chat-log] script").count() == 0
    with system.client() as http:
        items = http.get(messages(application), headers=parties.consumer.auth).json()["items"]
    assert [m["seq"] for m in items] == [1, 2, 3]


def test_message_typed_offline_is_queued_and_posted_once(
    system: System, parties: Parties, browser: Browser, contexts: list[BrowserContext]
) -> None:
    with system.client() as http:
        application = new_application(http, parties.consumer)
    outage = {"on": False}
    routes: list[WebSocketRoute] = []

    def socket(route: WebSocketRoute) -> None:
        if outage["on"]:
            route.close(code=1011)  # the network is down: every attempt fails
            return
        route.connect_to_server()
        routes.append(route)

    context = browser.new_context(locale="ru-RU")
    contexts.append(context)
    context.route_web_socket(re.compile(r".*/chat/ws.*"), socket)
    page = context.new_page()
    page.goto(system.base_url + "/?tab=login")
    page.get_by_label("Логин").fill(parties.consumer.login)
    page.get_by_label("Пароль").fill(parties.consumer.password)
    page.get_by_role("button", name="Вход").click()
    page.goto(f"{system.base_url}/applications/{application}/chat")
    live = page.locator("[data-chat][data-connection='live']")
    expect(live).to_have_count(1)

    outage["on"] = True
    for route in routes:
        route.close(code=1006)
    expect(page.get_by_role("status").filter(has_text="Нет соединения")).to_be_visible()
    page.get_by_label("Сообщение").fill("Написано, пока не было связи")
    page.get_by_role("button", name="Отправить сообщение").click()
    expect(page.locator(".chat-msg.pending")).to_contain_text("в очереди")
    with system.client() as http:
        assert http.get(messages(application), headers=parties.consumer.auth).json()["items"] == []

    outage["on"] = False
    expect(page.locator(".chat-msg.mine[data-seq='1']")).to_contain_text("Написано, пока не было связи")
    expect(page.locator(".chat-msg.pending")).to_have_count(0)
    # Another reconnect resends nothing new: the server already has that client id.
    for route in list(routes):
        route.close(code=1006)
    expect(live).to_have_count(1)
    with system.client() as http:
        say(http, parties.staff, application, "Получили, спасибо.")
    expect(log_of(page)).to_contain_text("Получили, спасибо.")
    with system.client() as http:
        items = http.get(messages(application), headers=parties.consumer.auth).json()["items"]
    assert [m["text"] for m in items] == ["Написано, пока не было связи", "Получили, спасибо."]


def test_chat_works_without_javascript(
    system: System, parties: Parties, browser: Browser, contexts: list[BrowserContext]
) -> None:
    with system.client() as http:
        application = new_application(http, parties.consumer)
        say(http, parties.staff, application, "Уточните адрес объекта.")
    page = open_chat(browser, contexts, system, parties.consumer, application, java_script_enabled=False)
    expect(log_of(page)).to_contain_text("Уточните адрес объекта.")
    expect(page.locator(".chat-msg.new")).to_have_count(1)  # shown as new once; reading it is recorded
    page.get_by_role("button", name="Отправить сообщение").click()
    expect(page.get_by_role("alert")).to_contain_text("Напишите сообщение или приложите файл.")
    page.get_by_label("Сообщение").fill(XSS)
    page.get_by_role("button", name="Отправить сообщение").click()
    expect(log_of(page)).to_contain_text(XSS)
    expect(page.locator(".chat-msg.mine")).to_have_count(1)
    with system.client() as http:
        chat = http.get(f"/api/v1/applications/{application}/chat", headers=parties.consumer.auth).json()
        assert chat["unread"] == 0 and chat["last_seq"] == 2
