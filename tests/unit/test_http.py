"""shared/http.py: JSON error bodies and the request-size limit, on a tiny FastAPI app."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from shared.http import ApiError, install_error_handlers
from shared.middleware import BodyLimit

LIMIT = 1000


class Item(BaseModel):
    count: int
    name: str = ""


def make_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(BodyLimit, limit=LIMIT)

    @app.post("/items")
    async def create(item: Item) -> dict[str, object]:
        return {"count": item.count, "name": item.name}

    @app.get("/teapot")
    async def teapot() -> None:
        raise ApiError(418, "teapot", "Я чайник", headers={"X-Why": "tea"})

    @app.get("/crash")
    async def crash() -> None:
        raise RuntimeError("secret detail")

    return app


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(make_app(), raise_server_exceptions=False) as client:
        yield client


def test_valid_request_passes(client: TestClient) -> None:
    resp = client.post("/items", json={"count": 2, "name": "x" * 100})
    assert resp.status_code == 200
    assert resp.json() == {"count": 2, "name": "x" * 100}


def test_malformed_json_is_400(client: TestClient) -> None:
    resp = client.post("/items", content=b'{"count": ', headers={"content-type": "application/json"})
    assert resp.status_code == 400
    assert resp.json()["code"] == "malformed_json"


def test_wrong_type_is_422_with_field_errors(client: TestClient) -> None:
    resp = client.post("/items", json={"count": "много", "name": 5})
    assert resp.status_code == 422
    body = resp.json()
    assert body["code"] == "validation_error"
    assert body["message"]
    assert {e["field"] for e in body["errors"]} == {"count", "name"}
    assert all(e["code"] and e["message"] for e in body["errors"])


def test_missing_field_is_422(client: TestClient) -> None:
    body = client.post("/items", json={}).json()
    assert body["code"] == "validation_error"
    assert body["errors"] == [{"field": "count", "code": "missing", "message": "обязательное поле"}]


def test_body_over_limit_with_content_length_is_413(client: TestClient) -> None:
    resp = client.post("/items", json={"count": 1, "name": "x" * LIMIT})
    assert int(resp.request.headers["content-length"]) > LIMIT
    assert resp.status_code == 413
    assert resp.json()["code"] == "payload_too_large"


def test_streamed_body_over_limit_is_413(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"count": 1, "name": "'
        for _ in range(LIMIT // 100 + 2):
            yield b"x" * 100
        yield b'"}'

    resp = client.post("/items", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in resp.request.headers
    assert resp.status_code == 413
    assert resp.json()["code"] == "payload_too_large"


def test_streamed_body_under_limit_passes(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"count": 3, '
        yield b'"name": "ok"}'

    resp = client.post("/items", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in resp.request.headers
    assert resp.json() == {"count": 3, "name": "ok"}


def test_unknown_route_is_json_404(client: TestClient) -> None:
    resp = client.get("/no/such/page")
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.json() == {"code": "not_found", "message": "Не найдено."}


def test_wrong_method_is_json_405(client: TestClient) -> None:
    resp = client.get("/items")
    assert resp.status_code == 405
    assert resp.json()["code"] == "method_not_allowed"


def test_api_error_keeps_status_code_message_and_headers(client: TestClient) -> None:
    resp = client.get("/teapot")
    assert resp.status_code == 418
    assert resp.json() == {"code": "teapot", "message": "Я чайник"}
    assert resp.headers["x-why"] == "tea"


def test_unexpected_error_is_json_500_without_details(client: TestClient) -> None:
    resp = client.get("/crash")
    assert resp.status_code == 500
    assert resp.json()["code"] == "internal_error"
    assert "secret detail" not in resp.text
