"""The services behind the gateway as the structured application's pages see them (issue
13's contract): a profile, the catalog with a company's and a household's type, the files
service and the application posts received. Used by the unit tests of the apply pages."""

from __future__ import annotations

import json
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
from tests.unit.test_gateway_error_pages import USER

CSRF = "csrf-token-of-the-test"
KEY = "b" * 32
TERMS = [
    {
        "max_voltage_kv": 0.4,
        "max_distance_m": {"urban": 15, "rural": 15},
        "working_days": 30,
        "basis": "п. 16",
    },
    {"max_voltage_kv": 20, "max_distance_m": {"urban": 300, "rural": 500}, "months": 6, "basis": "п. 16"},
    {"max_voltage_kv": None, "max_distance_m": None, "months": 12, "basis": "п. 16", "verified": False},
]
DOCS = {
    "application_form": {"code": "application_form", "title": "Заявка (подписанная)", "required": False},
    "site_plan": {"code": "site_plan", "title": "План расположения", "required": True},
    "single_line": {
        "code": "single_line",
        "title": "Однолинейная схема",
        "required": True,
        "required_from_kv": 35,
    },
    "reduced": {
        "code": "reduced_rate_document",
        "title": "Документ о льготной категории",
        "required": False,
        "required_when": "reduced_rate",
    },
    "poa": {
        "code": "power_of_attorney",
        "title": "Доверенность",
        "required": False,
        "required_when": "representative",
    },
}
COMPANY_TYPE: dict[str, Any] = {
    "code": "legal_150_670kw",
    "title": "Заявка юридического лица свыше 150 кВт и менее 670 кВт",
    "description": "Для организаций и ИП.",
    "terms": "Договор — 20 рабочих дней.",
    "procedure": "1. Подайте заявку.",
    "payment": "По стандартизированным ставкам.",
    "fees": [],
    "applicant_kinds": ["sole_trader", "company"],
    "min_power_kw": 150,
    "max_power_kw": 670,
    "max_power_exclusive": True,
    "voltages_kv": [0.4, 6, 10, 20, 35],
    "categories": [1, 2, 3],
    "connection_kinds": ["new", "increase", "scheme_change"],
    "payment_options": ["lump_sum"],
    "reduced_rate": False,
    "paper_signature": False,
    "activity_terms": TERMS,
    "documents": [DOCS["application_form"], DOCS["site_plan"], DOCS["single_line"], DOCS["poa"]],
}
HOUSE_TYPE: dict[str, Any] = {
    **COMPANY_TYPE,
    "code": "individual_15kw",
    "title": "Заявка физического лица до 15 кВт включительно",
    "applicant_kinds": ["individual"],
    "min_power_kw": None,
    "max_power_kw": 15,
    "max_power_exclusive": False,
    "voltages_kv": [0.4],
    "categories": [3],
    "connection_kinds": ["new"],
    "payment_options": ["lump_sum", "instalments"],
    "reduced_rate": True,
    "documents": [DOCS["application_form"], DOCS["site_plan"], DOCS["reduced"], DOCS["poa"]],
}
COMPANY_USER = {
    **USER,
    "first_name": "Анна",
    "last_name": "Петрова",
    "applicant_kind": "company",
    "organisation_name": "ООО «Ромашка»",
    "ogrn": "1027700132195",
    "inn": "7707083893",
    "kpp": "773601001",
    "phone": "+74951234567",
    "postal_address": "170000, г. Тверь, ул. Советская, д. 1",
}


class Backend:
    """The services as the gateway's client sees them: the profile, the catalog, the files
    and the posts received."""

    def __init__(self) -> None:
        self.user: dict[str, Any] = COMPANY_USER
        self.types = {t["code"]: t for t in (COMPANY_TYPE, HOUSE_TYPE)}
        self.posts: list[tuple[str, Any]] = []
        self.answer: tuple[int, dict[str, Any]] = (201, {"id": "a1", "number": "ТП-2026-000077"})
        self.files: dict[str, str] = {}
        self.item: dict[str, Any] = {}

    def __call__(self, method: str, service: str, path: str, **kwargs: Any) -> httpx.Response:
        request = httpx.Request(method, f"http://{service}{path}")

        def answer(status: int, body: Any) -> httpx.Response:
            return httpx.Response(status, content=json.dumps(body).encode(), request=request)

        if path == "/health":
            return answer(200, {"status": "ok"})
        if path == "/api/v1/me":
            return answer(200, self.user)
        if path == "/api/v1/application-types":
            return answer(200, {"items": list(self.types.values())})
        if path.startswith("/api/v1/application-types/"):
            found = self.types.get(path.rsplit("/", 1)[1])
            return answer(200, found) if found else answer(404, {"code": "not_found", "message": "Нет."})
        if method == "POST" and path == "/api/v1/files":
            name = kwargs["files"]["file"][0]
            self.files[f"f{len(self.files) + 1}"] = name
            self.posts.append((path, name))
            return answer(201, {"id": f"f{len(self.files)}", "name": name})
        if (meta := re.fullmatch(r"/api/v1/files/(\w+)/meta", path)) and meta.group(1) in self.files:
            return answer(200, {"id": meta.group(1), "name": self.files[meta.group(1)]})
        if method == "POST" and path == "/api/v1/applications":
            self.posts.append((path, kwargs.get("json")))
            return answer(*self.answer)
        if method == "GET" and self.item and path == f"/api/v1/applications/{self.item['id']}":
            return answer(200, self.item)
        raise httpx.ConnectError("connection refused", request=request)  # chat: not needed here


def fake_gateway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: Backend) -> Iterator[TestClient]:
    """The gateway alone, its calls to the services answered by ``backend``."""

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


def value_of(html: str, name: str) -> str | None:
    found = re.search(rf'<input id="{name}" name="{name}" type="\w+" value="([^"]*)"', html)
    return found.group(1) if found else None


def post_form(gateway: TestClient, code: str, fields: dict[str, str], follow: bool = True) -> httpx.Response:
    """The form posted as the browser does (multipart, no file chosen)."""
    form = {"csrf": CSRF, "idempotency_key": KEY, **fields}
    answer: httpx.Response = gateway.post(
        f"/apply/{code}/new", data=form, files={"doc_site_plan": ("", b"")}, follow_redirects=follow
    )
    return answer


def post(gateway: TestClient, code: str, **fields: str) -> httpx.Response:
    return post_form(gateway, code, fields)


def applications_posted(backend: Backend) -> list[Any]:
    return [body for path, body in backend.posts if path == "/api/v1/applications"]
