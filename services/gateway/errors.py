"""Errors on the pages are pages: an unknown address, a method a page route does not take
(a reload of a form's address), a service that is down, a bug. Each answers with the real
status and an HTML page that keeps the header (and «Выход» for a logged-in person), in
Russian. The API (``/api/``) and ``/health`` keep their JSON answers."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Awaitable
from typing import Any

import httpx
import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.gateway.pages.calls import UNAVAILABLE, current_user
from services.gateway.pages.render import Answered, page
from shared.http import error_body

log = structlog.get_logger(__name__)

CALL_US = "Если ошибка повторяется, позвоните в сетевую организацию."
TEXTS = {
    400: ("Некорректный запрос", "Страница не может обработать такой запрос. Вернитесь назад и повторите."),
    403: ("Доступ запрещён", "У вас нет доступа к этой странице."),
    404: (
        "Страница не найдена",
        "Такой страницы нет: возможно, адрес набран с ошибкой или страница удалена.",
    ),
    405: (
        "Страница открыта не так",
        "Этот адрес принимает только отправку формы. Вернитесь на страницу с формой и повторите действие.",
    ),
    413: ("Слишком большой запрос", "Объём отправленных данных больше допустимого."),
    429: ("Слишком много запросов", "Подождите минуту и повторите действие."),
    500: (
        "Что-то пошло не так",
        f"На сервере произошла ошибка, данные не потеряны. Попробуйте ещё раз. {CALL_US}",
    ),
    503: ("Сервис временно недоступен", f"{UNAVAILABLE} {CALL_US}"),
}


def is_page(request: Request) -> bool:
    path = request.url.path
    return not (path.startswith("/api/") or path == "/api" or path == "/health")


async def error_page(request: Request, status: int, headers: dict[str, str] | None = None) -> Response:
    heading, message = TEXTS.get(status, TEXTS[500] if status >= 500 else TEXTS[400])
    user: dict[str, Any] | None = None
    with contextlib.suppress(Exception):  # identity may be the service that is down
        user = await current_user(request)
    retry = str(request.url.path) if status in (500, 503) and request.method == "GET" else ""
    response = page(
        request,
        "not_found.html" if status == 404 else "error.html",
        status,
        user=user,
        heading=heading,
        message=message,
        retry=retry,
    )
    response.headers["cache-control"] = "no-store"
    for name, value in (headers or {}).items():
        if name.lower() in ("allow", "retry-after"):
            response.headers[name] = value
    if status == 503:
        response.headers.setdefault("retry-after", "5")
    return response


async def _answer(found: Response | Awaitable[Response]) -> Response:
    return await found if inspect.isawaitable(found) else found


def install_error_pages(app: FastAPI) -> None:
    """Page routes answer errors with pages; the API's JSON handlers stay for ``/api/``."""
    json_http = app.exception_handlers[StarletteHTTPException]
    json_unexpected = app.exception_handlers[Exception]

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if not is_page(request):
            return await _answer(json_http(request, exc))
        return await error_page(request, exc.status_code, dict(exc.headers or {}))

    async def unavailable(request: Request, exc: Exception) -> Response:
        log.warning("gateway.page_service_unavailable", path=request.url.path, error=type(exc).__name__)
        if not is_page(request):
            return JSONResponse(
                error_body("service_unavailable", UNAVAILABLE), 503, headers={"retry-after": "5"}
            )
        return await error_page(request, 503)

    async def unexpected(request: Request, exc: Exception) -> Response:
        if not is_page(request):
            return await _answer(json_unexpected(request, exc))
        log.exception("gateway.page_failed", path=request.url.path)
        return await error_page(request, 500)

    async def answered(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, Answered)
        return exc.response

    app.add_exception_handler(Answered, answered)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(httpx.TransportError, unavailable)
    app.add_exception_handler(Exception, unexpected)
