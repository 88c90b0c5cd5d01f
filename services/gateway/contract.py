"""The public contract: every service's ``/api/v1`` routes merged into one OpenAPI document,
with the answers the edge itself gives (400 for a path it refuses, 401 without a valid
session, 413 for a body over the route's limit, 503 while a service is down), and an index
of it that tells, for a path, which methods exist (405 with the real ``Allow`` otherwise)."""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from services.gateway.proxy import ServiceClient
from services.gateway.routes import SERVICES, is_public
from shared.http import ErrorOut

# The services' error answers use the same model, so one schema serves the whole contract.
_ERROR = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
ERROR_SCHEMAS: dict[str, Any] = {**_ERROR.pop("$defs", {}), "ErrorOut": _ERROR}

ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}
EDGE_ANSWERS = {
    "400": "Некорректный адрес, JSON или заголовки запроса",
    "503": "Сервис временно недоступен",
}
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
Fetch = Callable[[str], Awaitable[dict[str, Any] | None]]
REBUILD_AFTER = 2.0  # seconds between attempts while some service has not answered


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ERROR_REF}}}


def _template(path: str) -> re.Pattern[str]:
    """``/api/v1/applications/{id}/messages`` → a regex matching one segment per parameter."""
    pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path))
    return re.compile(f"^{pattern}/?$")


@dataclass
class Contract:
    """The merged document and its path index; complete once every service answered."""

    document: dict[str, Any] = field(default_factory=dict)
    routes: list[tuple[re.Pattern[str], frozenset[str]]] = field(default_factory=list)
    services: set[str] = field(default_factory=set)

    @property
    def complete(self) -> bool:
        return self.services >= set(SERVICES)

    def methods_for(self, path: str) -> frozenset[str] | None:
        """The methods of the routes ``path`` matches; None for a path of no route."""
        found = [methods for pattern, methods in self.routes if pattern.match(path)]
        return frozenset().union(*found) if found else None


async def build_contract(fetch: Fetch) -> Contract:
    """Merge the services' documents (``fetch(service)`` gives one, None if it is down)."""
    merged: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "Личный кабинет ТП — публичный API", "version": "1"},
        "paths": {},
        "components": {"schemas": dict(ERROR_SCHEMAS)},
    }
    contract = Contract(document=merged)
    for service in SERVICES:
        doc = await fetch(service)
        if doc is None:
            continue
        contract.services.add(service)
        merged["components"]["schemas"].update(doc.get("components", {}).get("schemas", {}))
        for path, operations in doc.get("paths", {}).items():
            if path.startswith("/api/v1/") and path != "/api/v1/openapi.json":
                merged["paths"][path] = operations
    for path, operations in merged["paths"].items():
        for method, operation in operations.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for status, text in EDGE_ANSWERS.items():
                responses.setdefault(status, _error(text))
            if not is_public(method.upper(), _example(path)):
                responses.setdefault("401", _error("Требуется вход в личный кабинет"))
            if method in ("post", "put", "patch"):
                responses.setdefault("413", _error("Слишком большой запрос"))
            for status, answer in responses.items():
                if status.startswith(("4", "5")) and "content" not in answer:
                    answer["content"] = {"application/json": {"schema": ERROR_REF}}
        methods = frozenset(m.upper() for m in operations if m in METHODS)
        contract.routes.append((_template(path), methods))
    return contract


def _example(path: str) -> str:
    """A concrete path of a template, to ask the routing table whether it is public."""
    return re.sub(r"\{[^/]+?\}", "x", path)


class Contracts:
    """The merged contract, built at the first request and again (every 2 s at most) while
    some service has not answered yet."""

    def __init__(self, client: ServiceClient) -> None:
        self.client = client
        self.current: Contract | None = None
        self.built_at = 0.0

    async def get(self) -> Contract:
        now = time.monotonic()
        if self.current is None or (not self.current.complete and now - self.built_at > REBUILD_AFTER):
            self.built_at = now
            self.current = await build_contract(self.fetch)
        return self.current

    async def fetch(self, service: str) -> dict[str, Any] | None:
        """The service's own document, or None while it does not give one."""
        try:
            answer = await self.client.call("GET", service, "/api/v1/openapi.json", timeout=5.0)
            doc: dict[str, Any] = answer.json()
        except (httpx.TransportError, ValueError):
            return None
        return doc if answer.status_code == 200 else None
