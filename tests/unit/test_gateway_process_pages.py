"""The applicant's side of the process on the application page (services/gateway/pages/
process.py), the gateway alone behind a fake of the services: the shapes being built in
parallel (the deadlines with their duty holder, «подписано ПЭП …», the signature by an
e-mailed code with its refusals) are rendered as the API will give them, every action posts
what the API expects, and a refusal comes back at its field. The browser tests on both modes
(tests/e2e/test_process_pages.py) run the same page on the real services."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from services.gateway.main import create_app
from services.gateway.pages.process import deadline_line, process_context
from services.gateway.proxy import ServiceClient
from shared.settings import Settings
from tests.harness import free_port
from tests.unit.test_gateway_error_pages import USER

APP = "7d3c1a52-0000-4000-8000-00000000000a"
PAGE = f"/applications/{APP}"
CSRF = "csrf-token-of-the-test"
PHOTO = "5e1d0a52-0000-4000-8000-0000000000f1"


def item(**change: Any) -> dict[str, Any]:
    """``GET /api/v1/applications/{id}`` of a company's signed offer, partly paid."""
    return {
        "id": APP,
        "number": "ТП-2026-000042",
        "type_code": "legal_150_670kw",
        "type_title": "Заявка юридического лица",
        "status": "contract",
        "status_title": "Заключение договора ТП",
        "power_kw": 300,
        "object_address": "г. Тверь, ул. Садовая, д. 7",
        "applicant_name": "Анна Петрова",
        "version": 7,
        "deadline": None,
        "contact": {"phone": "", "email": ""},
        "comment": "",
        "timeline": [],
        "documents": [],
        "allowed_transitions": ["annulled"],
        "milestones": [
            {
                "code": "received",
                "title": "Заявка получена и зарегистрирована",
                "at": "2026-03-02T09:15:00+00:00",
            },
            {"code": "contract_concluded", "title": "Договор ТП заключён", "at": "2026-03-10"},
        ],
        "company_documents": [
            {
                "id": "d1",
                "kind": "offer_contract",
                "title": "Договор об осуществлении технологического присоединения (оферта)",
                "file_id": "9b0c0a52-0000-4000-8000-000000000001",
                "name": "Договор ТП.pdf",
                "placed_at": "2026-03-05T10:00:00+00:00",
                "signed_at": "2026-03-10T08:30:00+00:00",
                "signature": "Подписано ПЭП 10.03.2026 11:30 (МСК), код из письма на anna@example.ru",
            }
        ],
        "invoice": {
            "amount_rub": 1250000.75,
            "due": "2026-03-19",
            "paid_rub": 250000.0,
            "paid_at": None,
            "payments": [{"amount_rub": 250000.0, "paid_at": "2026-03-06", "reference": "ПП-1"}],
        },
        "offer": {"needs_signature": True, "concluded_on": None, "refusal": None},
        "deadlines": [
            {
                "code": "sign",
                "title": "подписать договор или отказаться от него",
                "due": "2026-03-19",
                "duty": "applicant",
                "working_days_left": 3,
                "overdue": False,
            },
            {
                "code": "offer",
                "title": "направить договор",
                "due": "2026-03-04",
                "duty": "grid_company",
                "working_days_left": 0,
                "overdue": True,
            },
        ],
        **change,
    }


class Backend:
    """The services as the gateway's client sees them: the item, and the posts received."""

    def __init__(self) -> None:
        self.item = item()
        self.posts: list[tuple[str, Any]] = []
        self.answers: dict[str, httpx.Response] = {}

    def __call__(self, method: str, service: str, path: str, **kwargs: Any) -> httpx.Response:
        request = httpx.Request(method, f"http://{service}{path}")
        if path == "/health":
            return httpx.Response(200, json={"status": "ok"}, request=request)
        if path == "/api/v1/me":
            return httpx.Response(200, json=USER, request=request)
        if method == "GET" and path == f"/api/v1/applications/{APP}":
            return httpx.Response(200, json=self.item, request=request)
        if method == "GET" and path == f"/api/v1/files/{PHOTO}/meta":
            return httpx.Response(200, json={"id": PHOTO, "name": "Фото щита.pdf"}, request=request)
        if method == "POST":
            body = kwargs.get("json")
            self.posts.append((path, body))
            found = self.answers.get(path)
            if found is not None:
                return httpx.Response(found.status_code, json=found.json(), request=request)
            return httpx.Response(200, json=self.item, request=request)
        raise httpx.ConnectError("connection refused", request=request)  # chat: not needed here


@pytest.fixture
def backend() -> Backend:
    return Backend()


@pytest.fixture
def gateway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: Backend) -> Iterator[TestClient]:
    async def call(
        self: ServiceClient, method: str, service: str, path: str, **kwargs: Any
    ) -> httpx.Response:
        return backend(method, service, path, **kwargs)

    monkeypatch.setattr(ServiceClient, "call", call)
    ports = {
        f"{s}_port": free_port() for s in ("gateway", "identity", "applications", "chat", "files", "notifier")
    }
    settings = Settings(var_dir=tmp_path, secret_key="k" * 40, **ports)  # type: ignore[arg-type]
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        client.cookies.set(settings.session_cookie, "a-token")
        client.cookies.set("lk_csrf", CSRF)
        yield client


def refusal(code: str, message: str, status: int = 422) -> httpx.Response:
    return httpx.Response(status, content=json.dumps({"code": code, "message": message}).encode())


def test_the_deadlines_say_who_must_act_by_when() -> None:
    mine, theirs = (deadline_line(d) for d in item()["deadlines"])
    assert (mine["text"], mine["left_text"]) == (
        "Вам нужно до 19.03.2026: подписать договор или отказаться от него",
        "осталось 3 рабочих дня",
    )
    assert (theirs["text"], theirs["left_text"]) == (
        "Сетевая организация обязана до 04.03.2026: направить договор",
        "просрочено",
    )
    assert (
        deadline_line({**item()["deadlines"][0], "working_days_left": 1})["left_text"]
        == "осталось 1 рабочий день"
    )
    assert (
        deadline_line({**item()["deadlines"][0], "working_days_left": 5})["left_text"]
        == "осталось 5 рабочих дней"
    )


def test_staff_get_none_of_it_and_absent_parts_are_not_shown() -> None:
    assert process_context(item(), {**USER, "roles": ["staff"]}) == {}
    bare = process_context(item(deadlines=None, invoice=None, offer=None, company_documents=[]), USER)[
        "process"
    ]
    assert (bare["deadlines"], bare["invoice"], bare["documents"], bare["to_sign"]) == ([], None, [], False)


def test_the_page_shows_deadlines_documents_invoice_and_milestones(gateway: TestClient) -> None:
    page = gateway.get(PAGE)
    assert page.status_code == 200, page.text
    text = page.text
    assert (
        "Вам нужно до 19.03.2026: подписать договор или отказаться от него — <strong>осталось 3 рабочих дня"
        in text
    )
    assert "Сетевая организация обязана до 04.03.2026: направить договор — <strong>просрочено" in text
    assert "Подписано ПЭП 10.03.2026 11:30 (МСК), код из письма на anna@example.ru" in text
    assert 'href="/api/v1/files/9b0c0a52-0000-4000-8000-000000000001" download>Договор ТП.pdf' in text
    assert "размещён 05.03.2026 13:00 (МСК)" in text
    assert (
        "1\u202f250\u202f000,75\u00a0₽" in text and "1\u202f000\u202f000,75\u00a0₽" in text
    )  # the sum, the rest
    assert "06.03.2026 — 250\u202f000,00\u00a0₽" in text  # a partial payment
    assert f'href="/api/v1/applications/{APP}/invoice" download>Скачать счёт с QR-кодом' in text
    assert "<summary>Оплатить</summary>" in text and "Оплатить до</dt><dd>19.03.2026" in text
    assert 'Договор ТП заключён</strong> — <time datetime="2026-03-10">10.03.2026</time>' in text
    assert "02.03.2026 12:15 (МСК)" in text
    assert "Получить код" in text and 'name="code"' not in text  # the code field comes after the code
    assert "Отозвать заявку" in text and "Расторгнуть договор" not in text


def test_signing_by_the_code_from_the_mail(gateway: TestClient, backend: Backend) -> None:
    issued = {"challenge_id": "c1", "expires_at": "2026-03-10T08:40:00+00:00", "sent_to": "a***@example.ru"}
    backend.answers[f"/api/v1/applications/{APP}/acceptance/code"] = httpx.Response(201, json=issued)
    sent = gateway.post(f"{PAGE}/acceptance/code", data={"csrf": CSRF})
    assert sent.status_code == 200
    assert "Код отправлен на a***@example.ru. Код действует до 10.03.2026 11:40 (МСК)." in sent.text
    assert 'name="code"' in sent.text and "Получить новый код" in sent.text
    assert backend.posts == [(f"/api/v1/applications/{APP}/acceptance/code", None)]

    empty = gateway.post(f"{PAGE}/acceptance", data={"csrf": CSRF, "code": " "})
    assert 'id="code-msg">Введите код из письма.' in empty.text and len(backend.posts) == 1  # nothing posted

    backend.answers[f"/api/v1/applications/{APP}/acceptance"] = refusal(
        "signature_code_wrong", "Код неверный."
    )
    wrong = gateway.post(f"{PAGE}/acceptance", data={"csrf": CSRF, "code": "111111"})
    assert 'id="code-msg">Код неверный.' in wrong.text and 'aria-invalid="true"' in wrong.text
    assert backend.posts[-1] == (
        f"/api/v1/applications/{APP}/acceptance",
        {"decision": "accept", "code": "111111"},
    )

    del backend.answers[f"/api/v1/applications/{APP}/acceptance"]
    backend.item = item(
        status="activities",
        offer={"needs_signature": True, "concluded_on": "2026-03-10"},
        allowed_transitions=[],  # the API offers no withdrawal after conclusion
    )
    signed = gateway.post(f"{PAGE}/acceptance", data={"csrf": CSRF, "code": "424242"})
    assert "Договор подписан простой электронной подписью" in signed.text
    assert "Расторгнуть договор" in signed.text and "Отозвать заявку" not in signed.text
    assert "Уведомить о выполнении ТУ" in signed.text and "Получить код" not in signed.text


def test_a_refusal_needs_a_reason_and_a_confirmation(gateway: TestClient, backend: Backend) -> None:
    none = gateway.post(f"{PAGE}/refusal", data={"csrf": CSRF, "refusal_comment": "  "})
    assert 'id="refusal_comment-msg">Укажите причину отказа от договора.' in none.text
    asked = gateway.post(f"{PAGE}/refusal", data={"csrf": CSRF, "refusal_comment": "Дорого"})
    assert "Отказаться от договора по заявке ТП-2026-000042?" in asked.text and backend.posts == []
    gateway.post(f"{PAGE}/refusal", data={"csrf": CSRF, "refusal_comment": "Дорого", "confirm": "yes"})
    assert backend.posts == [
        (f"/api/v1/applications/{APP}/acceptance", {"decision": "reject", "comment": "Дорого"})
    ]


def test_a_stale_form_posts_nothing(gateway: TestClient, backend: Backend) -> None:
    for action in ("acceptance/code", "acceptance", "refusal"):
        answer = gateway.post(f"{PAGE}/{action}", data={"csrf": "other", "code": "1", "refusal_comment": "x"})
        assert "Форма устарела" in answer.text, action
    answer = gateway.post(
        f"{PAGE}/tu-notice", data={"csrf": "other"}, files={"notice_files": ("a.pdf", b"%PDF")}
    )
    assert "Форма устарела" in answer.text
    assert backend.posts == []


def test_the_notice_uploads_its_files_first_and_keeps_them_on_a_refusal(
    gateway: TestClient, backend: Backend
) -> None:
    backend.item = item(status="activities", allowed_transitions=[])
    notices = f"/api/v1/applications/{APP}/notices"
    none = gateway.post(f"{PAGE}/tu-notice", data={"csrf": CSRF}, files={"notice_files": ("", b"")})
    assert 'id="notice_files-msg">Приложите документы, подтверждающие выполнение ТУ' in none.text
    assert backend.posts == []
    backend.answers["/api/v1/files"] = httpx.Response(201, json={"id": PHOTO, "name": "Фото щита.pdf"})
    backend.answers[notices] = refusal("file_not_found", "Файл не найден.")
    form = {"csrf": CSRF, "idempotency_key": "a" * 32}
    refused = gateway.post(
        f"{PAGE}/tu-notice", data=form, files={"notice_files": ("Фото щита.pdf", b"%PDF-1.4")}
    )
    assert 'id="notice_files-msg">Файл не найден.' in refused.text
    assert (
        f'Уже загружен: Фото щита.pdf<input type="hidden" name="keep_notice" value="{PHOTO}">' in refused.text
    )
    assert backend.posts[-1] == (notices, {"kind": "tu_fulfilled", "file_ids": [PHOTO]})
    del backend.answers[notices]
    uploads = sum(1 for path, _ in backend.posts if path == "/api/v1/files")
    sent = gateway.post(f"{PAGE}/tu-notice", data={**form, "keep_notice": PHOTO})  # kept: not uploaded again
    assert "Уведомление о выполнении ТУ отправлено" in sent.text
    assert sum(1 for path, _ in backend.posts if path == "/api/v1/files") == uploads == 1
    assert backend.posts[-1] == (notices, {"kind": "tu_fulfilled", "file_ids": [PHOTO]})


def test_a_refused_code_request_says_why(gateway: TestClient, backend: Backend) -> None:
    path = f"/api/v1/applications/{APP}/acceptance/code"
    backend.answers[path] = refusal("too_many", "Код можно запросить раз в минуту.", 429)
    answer = gateway.post(f"{PAGE}/acceptance/code", data={"csrf": CSRF})
    assert (
        'role="alert">Код можно запросить раз в минуту.' in answer.text and 'name="code"' not in answer.text
    )
