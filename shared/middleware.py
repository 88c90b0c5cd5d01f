"""The ASGI middleware every service runs: a request-size limit per route (refused before the
body is read, or as soon as a streamed body passes it) and the headers of every API answer."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.http import STATUS_TEXT, error_body

RouteLimit = Callable[[str, str], int]
"""(method, path) → the largest request body the route accepts, in bytes."""


class BodyLimit:
    """Refuses request bodies over the route's limit with 413: by the declared
    ``Content-Length`` at once (nothing is read), and by counting a streamed body.

    A request answered before its body was read to the end (refused, or failed early)
    gets ``Connection: close``: the server then stops reading instead of draining the
    rest of an upload it will throw away.
    """

    def __init__(self, app: ASGIApp, limit: int | RouteLimit, pages: bool = False) -> None:
        self.app = app
        self.limit: RouteLimit = (lambda _m, _p: limit) if isinstance(limit, int) else limit
        self.pages = pages  # outside /api/ the refusal is a page, for a person at a browser

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit(scope["method"], scope["path"])
        declared = b""
        chunked = False
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                declared = value
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
        page = self.pages and not str(scope["path"]).startswith("/api/")
        if declared and not declared.isdigit():
            await _refuse(send, 400, page)
            return
        if declared and int(declared) > limit:
            await _refuse(send, 413, page)
            return
        finished = not (chunked or (declared and int(declared) > 0))
        if finished:
            await self.app(scope, receive, send)  # no body: nothing to count, nothing left unread
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen, finished
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                finished = not message.get("more_body", False)
                if seen > limit:
                    raise _TooLarge
            elif message["type"] == "http.disconnect":
                finished = True
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if not finished:
                    message = {**message, "headers": [*message.get("headers", ()), (b"connection", b"close")]}
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _refuse(send, 413, page)


class _TooLarge(StarletteHTTPException):
    """Raised from ``receive``. An HTTPException, because FastAPI's body parsing turns any
    other error into 400 and re-raises only these; the 413 handler then answers."""

    def __init__(self) -> None:
        super().__init__(413)


_REFUSED_PAGE = (
    '<!doctype html><html lang="ru"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    '<title>{title} — Личный кабинет ТП</title><link rel="stylesheet" href="/static/style.css"></head>'
    '<body><main id="main"><h1>{title}</h1><p role="alert">{text}</p>'
    '<p>Вернитесь к форме кнопкой «Назад» браузера или <a href="/">перейдите на главную</a>.</p>'
    "</main></body></html>"
)
_REFUSED_TEXT = {
    400: ("Некорректный запрос", "Браузер отправил форму с ошибкой. Вернитесь и отправьте её ещё раз."),
    413: (
        "Слишком большой запрос",
        "Объём отправленных файлов больше допустимого: отправьте меньше файлов за раз.",
    ),
}


def refused_page(status: int) -> str:
    """The page of a refused form (400, 413), for a person at a browser."""
    title, text = _REFUSED_TEXT[status]
    return _REFUSED_PAGE.format(title=title, text=text)


async def _refuse(send: Send, status: int, page: bool = False) -> None:
    """Answer ``status`` without reading the body, and close the connection."""
    body: Response = JSONResponse(error_body(*STATUS_TEXT[status]), status, headers=dict(NO_STORE))
    if page:
        body = HTMLResponse(refused_page(status), status, headers=dict(NO_STORE))
    headers = [*body.raw_headers, (b"connection", b"close")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body.body})


# Every API answer: never cached by a browser or a proxy unless the route says otherwise,
# never content-sniffed.
NO_STORE = (("cache-control", "no-store"), ("x-content-type-options", "nosniff"))


class ApiHeaders:
    """Adds ``Cache-Control: no-store`` (unless the route set its own cache policy) and
    ``X-Content-Type-Options: nosniff`` to every answer under ``prefix``."""

    def __init__(self, app: ASGIApp, prefix: str = "/") -> None:
        self.app = app
        self.prefix = prefix
        self.raw = [(k.encode(), v.encode()) for k, v in NO_STORE]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope["path"]).startswith(self.prefix):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", ())}
                extra = [(k, v) for k, v in self.raw if k not in present]
                message = {**message, "headers": [*message.get("headers", ()), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)
