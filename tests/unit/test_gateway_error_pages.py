"""The gateway's error pages: a service that is down (or a bug) on a page route answers with
an HTML page that keeps the header and «Выход» for the person logged in, in Russian, with
the real status; the API under /api/ keeps JSON."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from services.gateway.main import create_app
from services.gateway.proxy import ServiceClient
from shared.settings import Settings
from tests.harness import free_port

USER = {
    "id": "3f1e0c9a-0000-4000-8000-000000000001",
    "login": "anna",
    "email": "anna@example.ru",
    "display_name": "Анна Петрова",
    "roles": ["consumer"],
    "account_type": "consumer",
    "account_type_title": "Потребитель",
}


@pytest.fixture
def gateway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The gateway alone: identity answers (the person is logged in), applications is down,
    one answer is not JSON (a broken service)."""

    async def call(
        self: ServiceClient, method: str, service: str, path: str, **kwargs: Any
    ) -> httpx.Response:
        request = httpx.Request(method, f"http://{service}{path}")
        if path == "/health":
            return httpx.Response(200, json={"status": "ok"}, request=request)
        if service == "identity" and path == "/api/v1/me":
            return httpx.Response(200, json=USER, request=request)
        if path.endswith("/application-types/broken"):
            return httpx.Response(200, text="<html>not JSON</html>", request=request)
        raise httpx.ConnectError("connection refused", request=request)

    monkeypatch.setattr(ServiceClient, "call", call)
    ports = {
        f"{s}_port": free_port() for s in ("gateway", "identity", "applications", "chat", "files", "notifier")
    }
    settings = Settings(var_dir=tmp_path, secret_key="k" * 40, **ports)  # type: ignore[arg-type]
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        client.cookies.set(settings.session_cookie, "a-token")
        yield client


def test_a_service_down_is_a_page_with_the_header(gateway: TestClient) -> None:
    for path in ("/applications", "/apply", "/apply/individual_15kw"):
        answer = gateway.get(path)
        assert answer.status_code == 503, (path, answer.status_code)
        assert answer.headers["content-type"].startswith("text/html")
        assert "Сервис временно недоступен" in answer.text
        assert "Выход" in answer.text and "Анна Петрова" in answer.text  # the header stays
        assert re.search(r"<title>[^<]+ — Личный кабинет ТП</title>", answer.text), re.findall(
            "<title>.*", answer.text
        )


def test_a_broken_answer_is_a_page_too_and_the_api_keeps_json(gateway: TestClient) -> None:
    answer = gateway.get("/apply/broken")
    assert answer.headers["content-type"].startswith("text/html"), answer.text[:200]
    assert answer.status_code == 500 and "Что-то пошло не так" in answer.text and "Выход" in answer.text
    missing = gateway.get("/no/such/page")
    assert missing.status_code == 404 and "Страница не найдена" in missing.text and "Выход" in missing.text
    api = gateway.get("/api/v1/no-such-thing")
    assert api.headers["content-type"].startswith("application/json")
