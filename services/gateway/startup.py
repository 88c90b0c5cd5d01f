"""Until every service behind the gateway has answered once, the gateway says so: 503 with
``Retry-After`` (a JSON error for the API, a Russian page that reloads itself otherwise),
instead of letting the first visitors hit a service that is still starting."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.http import error_body

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


Check = Callable[[], Awaitable[bool]]


class StartupGate:
    """Answers 503 until ``ready`` is set; health and static files pass through. A request
    that comes before the background check has run asks the services itself, so the first
    visitor after they are all up is never told to wait."""

    def __init__(self, app: ASGIApp, ready: asyncio.Event, check: Check) -> None:
        self.app = app
        self.ready = ready
        self.check = check

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        passes = scope["type"] == "lifespan" or path.startswith(("/health", "/static/"))
        if not (passes or self.ready.is_set()) and await self.check():
            self.ready.set()
        if passes or self.ready.is_set():
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1013})
            return
        await starting_response(path)(scope, receive, send)


async def wait_until_ready(ready: asyncio.Event, check: Check) -> None:
    """Set ``ready`` once ``check`` says every service answers (then the gate stays open)."""
    while not ready.is_set() and not await check():  # noqa: ASYNC110 - polling other processes
        await asyncio.sleep(0.2)
    ready.set()
