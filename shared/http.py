"""HTTP conventions shared by every service: JSON errors with a stable ``code`` and a
Russian ``message``, and ``/health`` (the ASGI middleware is in shared/middleware.py)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import asyncpg
import psycopg
import structlog
from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError
from fastapi import FastAPI, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.errors import DomainError

log = structlog.get_logger(__name__)

# Every integer a client sends is bounded: databases store 64-bit integers at most, and a
# page deeper than this is no page anyone reads.
MAX_OFFSET = 1_000_000


class ApiError(DomainError):
    """An expected failure of the HTTP layer itself (a missing session, a CSRF token) with
    its status; use cases raise the kinds of :mod:`shared.errors` instead."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(code, message)
        self.status = status
        self.headers = headers


def error_headers(exc: DomainError) -> dict[str, str] | None:
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    return headers or None


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "message": message, **extra}


# The contract -----------------------------------------------------------------------------
class FieldErrorOut(BaseModel):
    field: str
    code: str
    message: str


class ErrorOut(BaseModel):
    """Every error answer: a stable ``code`` and a Russian ``message`` (per field for 422)."""

    code: str
    message: str
    errors: list[FieldErrorOut] | None = None


_ANSWERS = {
    400: "Некорректный запрос",
    401: "Требуется вход в личный кабинет",
    403: "Недостаточно прав",
    404: "Не найдено (или недоступно вызывающему)",
    409: "Конфликт с текущим состоянием",
    413: "Слишком большой запрос",
    415: "Неподдерживаемый тип содержимого",
    422: "Проверьте заполнение полей",
    429: "Слишком много запросов",
    503: "Сервис временно недоступен",
}


def answers(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The error answers a route gives, for FastAPI's ``responses=`` (the published contract)."""
    return {status: {"model": ErrorOut, "description": _ANSWERS[status]} for status in statuses}


UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
CODE_PATTERN = "^[A-Za-z0-9_-]{1,64}$"
# Ids and codes in paths, as documented. Not enforced by the framework: an id of the wrong
# shape is simply not found (404), like any other id the caller may not see.
IdPath = Annotated[str, Path(json_schema_extra={"pattern": UUID_PATTERN})]
CodePath = Annotated[str, Path(json_schema_extra={"pattern": CODE_PATTERN})]


STATUS_TEXT = {
    400: ("bad_request", "Некорректный запрос."),
    401: ("not_authenticated", "Требуется вход в личный кабинет."),
    403: ("forbidden", "Недостаточно прав."),
    404: ("not_found", "Не найдено."),
    405: ("method_not_allowed", "Метод не поддерживается."),
    413: ("payload_too_large", "Слишком большой запрос."),
    415: ("unsupported_media_type", "Неподдерживаемый тип содержимого."),
    429: ("too_many_requests", "Слишком много запросов, повторите позже."),
}

_FIELD_MESSAGES = {
    "missing": "обязательное поле",
    "string_type": "ожидается строка",
    "string_too_long": "слишком длинное значение",
    "string_too_short": "слишком короткое значение",
    "string_pattern_mismatch": "недопустимые символы",
    "value_error": "недопустимое значение",
    "literal_error": "недопустимое значение",
    "extra_forbidden": "неизвестное поле",
    "dict_type": "ожидается объект",
    "model_attributes_type": "ожидается объект",
}


def _field_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        out.append(
            {
                "field": ".".join(loc),
                "code": str(err.get("type", "invalid")),
                "message": _FIELD_MESSAGES.get(str(err.get("type")), "недопустимое значение"),
            }
        )
    return out


# A dependency that is down or does not answer in time: the client may try again shortly.
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    OperationalError,  # the event store (eventsourcing wraps psycopg's and sqlite3's)
    InterfaceError,
    psycopg.OperationalError,  # a pool timeout, when a library lets it through unwrapped
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    sqlite3.OperationalError,
    ConnectionError,
    TimeoutError,
)


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("http.dependency_unavailable", path=request.url.path, error=type(exc).__name__)
    return JSONResponse(
        error_body("service_unavailable", "Сервис временно недоступен, попробуйте через минуту."),
        503,
        headers={"Retry-After": "5"},
    )


def install_error_handlers(app: FastAPI) -> None:
    """Every error leaves as JSON ``{code, message}``; never an HTML page, never a 500 body."""

    @app.exception_handler(DomainError)
    async def _refused(_: Request, exc: DomainError) -> JSONResponse:
        # Each kind of refusal has its status (shared/errors.py); this is the one mapping.
        extra = {"errors": exc.errors} if exc.errors else {}
        return JSONResponse(
            error_body(exc.code, exc.message, **extra), exc.status, headers=error_headers(exc)
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return JSONResponse(
                error_body("malformed_json", "Тело запроса не является корректным JSON."), 400
            )
        return JSONResponse(
            error_body("validation_error", "Проверьте заполнение полей.", errors=_field_errors(exc)),
            422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, message = STATUS_TEXT.get(exc.status_code, ("error", "Ошибка запроса."))
        return JSONResponse(error_body(code, message), exc.status_code, headers=exc.headers)

    @app.exception_handler(IntegrityError)
    async def _conflict(_: Request, exc: IntegrityError) -> JSONResponse:
        # Optimistic concurrency: someone changed the same record in the same instant.
        return JSONResponse(
            error_body("conflict", "Данные изменились одновременно с вашим запросом. Повторите действие."),
            409,
        )

    for unavailable in UNAVAILABLE_ERRORS:
        app.add_exception_handler(unavailable, _unavailable)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("http.unhandled", path=request.url.path)
        return JSONResponse(error_body("internal_error", "Внутренняя ошибка сервиса, попробуйте позже."), 500)


HealthCheck = Callable[[], Awaitable[dict[str, Any]]]
Dependency = Callable[[], Awaitable[object]]
DEPENDENCY_TIMEOUT = 2.0


async def _probe(check: Dependency) -> str:
    try:
        await asyncio.wait_for(check(), DEPENDENCY_TIMEOUT)
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return f"unavailable: {type(exc).__name__}"
    return "ok"


async def health_of(probes: dict[str, Dependency]) -> dict[str, str]:
    """Each dependency's state ("ok" or "unavailable: <error>"), probed at once."""
    results = await asyncio.gather(*(_probe(p) for p in probes.values()))
    return dict(zip(probes, results, strict=True))


def add_health(app: FastAPI, service: str, check: HealthCheck | None = None) -> None:
    """``GET /health/live``: the process answers. ``GET /health`` (= ``/health/ready``): every
    dependency in ``app.state.dependencies`` (name → async probe) answers within 2 s — 200
    ``{"service", "status": "ok", "dependencies": {...}, ...}`` or 503 naming what is down."""

    @app.get("/health/live", include_in_schema=False)
    async def live() -> JSONResponse:
        return JSONResponse({"service": service, "status": "live"})

    @app.get("/health", include_in_schema=False)
    @app.get("/health/ready", include_in_schema=False)
    async def health() -> JSONResponse:
        dependencies = await health_of(getattr(app.state, "dependencies", {}))
        details: dict[str, Any] = {}
        if check is not None:
            try:
                details = await check()
            except Exception as exc:  # noqa: BLE001 - reported, not raised
                dependencies["self"] = f"unavailable: {type(exc).__name__}"
        ok = all(v == "ok" for v in dependencies.values())
        body = {"service": service, "status": "ok" if ok else "unavailable", "dependencies": dependencies}
        return JSONResponse(
            {**body, **details}, 200 if ok else 503, headers={} if ok else {"Retry-After": "5"}
        )
