"""The gateway's in-process dispatch (``lk run``): ``/api/v1`` reaches the owning service's
app as the client sent it, what the gateway refused itself is refused the same, and no
service route it hands over is open without a session unless the routing table says so."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.types import ASGIApp, Receive, Scope, Send

from services.gateway.contract import Contract, Contracts, _template
from services.gateway.dispatch import InProcess
from services.gateway.routes import SERVICES, is_public, service_for
from shared.cli import build_app
from shared.settings import Settings


class _Backend:
    """A service app that echoes what it received, and answers 405 as Starlette does."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.seen.append({"path": scope["path"], "headers": dict(scope["headers"]), "body": body})
        status = 405 if scope["method"] == "DELETE" else 200
        headers = [(b"content-type", b"text/plain")] + ([(b"allow", b"GET")] if status == 405 else [])
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"from " + scope["path"].encode()})


class _Gateway:
    """The gateway's own app: what is not dispatched lands here."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"gateway"})


def _app(tmp_path: Path, backend: ASGIApp) -> tuple[ASGIApp, FastAPI]:
    settings = Settings(mode="embedded", var_dir=tmp_path, secret_key="k" * 40)
    gateway = FastAPI()  # stands for scope["app"]: the gateway, whose contract gives Allow
    contract = Contract(
        routes=[(_template("/api/v1/me"), frozenset({"GET", "PATCH"}))], services=set(SERVICES)
    )
    contracts = Contracts(client=None)  # type: ignore[arg-type]
    contracts.current = contract
    gateway.state.service = _State(contracts)
    layer = InProcess(_Gateway(), settings, {name: backend for name in SERVICES})

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await layer({**scope, "app": gateway}, receive, send)

    return app, gateway


class _State:
    def __init__(self, contracts: Contracts) -> None:
        self.contracts = contracts


@pytest.fixture(autouse=True)
def _gateway_state(monkeypatch: pytest.MonkeyPatch) -> None:
    # allowed_methods checks that scope["app"] is the gateway's; the stand-in state passes.
    monkeypatch.setattr("services.gateway.api.GatewayState", _State)


async def _client(app: ASGIApp) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://edge")


async def test_the_request_reaches_its_service_as_sent(tmp_path: Path) -> None:
    backend = _Backend()
    app, _ = _app(tmp_path, backend)
    async with await _client(app) as http:
        answer = await http.post("/api/v1/me/password", content=b"x" * 1000, headers={"x-lk-edge": "proof"})
    assert answer.status_code == 200 and answer.text == "from /api/v1/me/password"
    assert backend.seen[0]["body"] == b"x" * 1000
    assert backend.seen[0]["headers"][b"x-lk-edge"] == b"proof"  # what the edge set, untouched


async def test_the_gateway_keeps_its_own(tmp_path: Path) -> None:
    backend = _Backend()
    app, _ = _app(tmp_path, backend)
    async with await _client(app) as http:
        for path in ("/api/v1/openapi.json", "/", "/applications/x"):
            assert (await http.get(path)).text == "gateway"
        nowhere = await http.get("/api/v1/no-such-thing")
    assert backend.seen == []
    assert nowhere.status_code == 404
    assert nowhere.json() == {"code": "not_found", "message": "Не найдено."}
    assert nowhere.headers["cache-control"] == "no-store"
    assert nowhere.headers["x-content-type-options"] == "nosniff"


async def test_a_405_names_every_method_of_the_path(tmp_path: Path) -> None:
    app, _ = _app(tmp_path, _Backend())
    async with await _client(app) as http:
        answer = await http.delete("/api/v1/me")
    assert answer.status_code == 405
    assert answer.headers.get_list("allow") == ["GET, PATCH"]  # the service said only GET


async def test_an_oversized_body_is_refused_before_any_service(tmp_path: Path) -> None:
    backend = _Backend()
    app, _ = _app(tmp_path, backend)
    async with await _client(app) as http:
        answer = await http.patch("/api/v1/me", content=b"x" * (Settings().max_body_bytes + 1))
    assert answer.status_code == 413 and answer.json()["code"] == "payload_too_large"
    assert backend.seen == []


def _dependencies(dependant: Dependant | None) -> set[Any]:
    found: set[Any] = set()
    if dependant is None:
        return found
    for sub in dependant.dependencies:
        found.add(sub.call)
        found |= _dependencies(sub)
    return found


def test_every_route_handed_over_checks_the_session_unless_public(tmp_path: Path) -> None:
    """The gateway no longer checks tokens before dispatching: every service route it can
    reach that the routing table does not call public must depend on a session check."""
    from services.identity.api.deps import current_session, viewing_session
    from shared.auth import current_principal

    checks = {current_principal, current_session, viewing_session}
    settings = Settings(mode="embedded", var_dir=tmp_path, secret_key="k" * 40)
    seen, open_routes = 0, []
    for name in SERVICES:
        for route in iter_route_contexts(build_app(name, settings).routes):
            original = route.original_route
            if not isinstance(original, APIRoute) or service_for(route.path or "") != name:
                continue
            example = re.sub(r"\{[^/]+?\}", "x", route.path or "")
            dependant = route._route_context.dependant if route._route_context else original.dependant
            for method in route.methods or ():
                seen += 1
                if not is_public(method, example) and not checks & _dependencies(dependant):
                    open_routes.append(f"{method} {route.path}")
    assert seen > 40  # the check saw the services' routes
    assert open_routes == []


async def test_the_guard_sees_an_open_route(tmp_path: Path) -> None:
    """The check above can fail: a route without a session dependency is found."""
    app = FastAPI()

    @app.get("/api/v1/me")
    async def me(request: Request) -> dict[str, str]:
        return {}

    route = next(r for r in app.routes if isinstance(r, APIRoute))
    assert _dependencies(route.dependant) == set()
