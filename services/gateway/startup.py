"""Until every service behind the gateway has answered once, the gateway says so: 503 with
``Retry-After`` (a JSON error for the API, a Russian page that reloads itself otherwise),
instead of letting the first visitors hit a service that is still starting."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.http import Dependency, error_body, health_of

RETRY_AFTER = "2"
STARTING_PAGE = """<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="2"><title>Запуск — Личный кабинет ТП</title>
<link rel="stylesheet" href="/static/style.css"></head>
<body><main id="main"><h1>Личный кабинет ТП запускается</h1>
<p role="status">Сервисы ещё запускаются. Страница обновится сама через несколько секунд.</p></main></body></html>
"""


def starting_response(path: str) -> Response:
    headers = {"Retry-After": RETRY_AFTER, "cache-control": "no-store"}
    if path.startswith("/api/"):
        return JSONResponse(
            error_body("starting", "Личный кабинет запускается, повторите через несколько секунд."),
            503,
            headers=headers,
        )
    return HTMLResponse(STARTING_PAGE, 503, headers=headers)


@dataclass
class Startup:
    """Whether every service behind the gateway has answered (its readiness probes, by name);
    once they all have, it stays open."""

    services: dict[str, Dependency]
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    async def all_ready(self) -> bool:
        return all(state == "ok" for state in (await health_of(self.services)).values())

    async def is_open(self) -> bool:
        """Open, or every service answers now: a request that comes before the background
        check has run asks them itself, so the first visitor after they are all up is never
        told to wait."""
        if not self.ready.is_set() and await self.all_ready():
            self.ready.set()
        return self.ready.is_set()

    async def wait(self) -> None:
        """Poll until every service answers (the gateway's background loop)."""
        while not self.ready.is_set() and not await self.all_ready():  # noqa: ASYNC110 - other processes
            await asyncio.sleep(0.2)
        self.ready.set()


def startup_of(scope: Scope) -> Startup:
    found = getattr(scope["app"].state.service, "startup", None)
    if not isinstance(found, Startup):
        raise TypeError("this app has no start-up gate state")
    return found


class StartupGate:
    """Answers 503 until the services have all answered once; health and static files pass."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        passes = scope["type"] == "lifespan" or path.startswith(("/health", "/static/"))
        if passes or await startup_of(scope).is_open():
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1013})
            return
        await starting_response(path)(scope, receive, send)
