"""The Russian web client: server-rendered pages that work without JavaScript.

Pages call the services' public API through the same client as the proxy, so a page
can do nothing that the API does not allow.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from services.gateway.proxy import ServiceClient
from shared.settings import Settings

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

FIELD_TITLES = {"login": "Логин", "email": "E-mail", "password": "Пароль", "account_type": "Тип аккаунта"}
UNAVAILABLE = "Сервис временно недоступен, попробуйте через минуту."


def _client(request: Request) -> ServiceClient:
    client: ServiceClient = request.app.state.client
    return client


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _bearer(request: Request) -> dict[str, str]:
    token = request.cookies.get(_settings(request).session_cookie)
    return {"authorization": f"Bearer {token}"} if token else {}


async def current_user(request: Request) -> dict[str, Any] | None:
    """The logged-in account (``GET /api/v1/me``), or None."""
    headers = _bearer(request)
    if not headers:
        return None
    try:
        answer = await _client(request).call("GET", "identity", "/api/v1/me", headers=headers)
    except httpx.TransportError:
        return None
    return answer.json() if answer.status_code == 200 else None


def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(
        request, name, {"title": "Личный кабинет ТП", **context}, status_code=status
    )


def _errors(answer: httpx.Response) -> tuple[str, dict[str, str]]:
    """(summary, per-field messages) from an API error answer."""
    try:
        body = answer.json()
    except ValueError:
        return UNAVAILABLE, {}
    fields = {
        e["field"]: e["message"] for e in body.get("errors", []) if isinstance(e, dict) and "field" in e
    }
    return str(body.get("message", UNAVAILABLE)), fields


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


@router.get("/")
async def index(request: Request, tab: str = "login") -> Response:
    if await current_user(request):
        return RedirectResponse("/cabinet", 303)
    return page(request, "index.html", tab="register" if tab == "register" else "login", values={}, fields={})


@router.get("/login")
async def login_page(request: Request) -> Response:
    return RedirectResponse("/?tab=login", 303)


@router.get("/register")
async def register_page(request: Request) -> Response:
    return RedirectResponse("/?tab=register", 303)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await _form(request)
    values = {"login": form.get("login", "")}
    try:
        answer = await _client(request).call(
            "POST",
            "identity",
            "/api/v1/sessions",
            json={"login": form.get("login", ""), "password": form.get("password", "")},
        )
    except httpx.TransportError:
        return page(request, "index.html", 503, tab="login", error=UNAVAILABLE, values=values, fields={})
    if answer.status_code == 201:
        settings = _settings(request)
        body = answer.json()
        response = RedirectResponse("/cabinet", 303)
        response.set_cookie(
            settings.session_cookie,
            body["access_token"],
            max_age=int(body["expires_in"]),
            httponly=True,
            samesite="lax",
            secure=settings.cookie_secure,
            path="/",
        )
        return response
    summary, fields = _errors(answer)
    code = (
        answer.json().get("code")
        if answer.headers.get("content-type", "").startswith("application/json")
        else None
    )
    return page(
        request,
        "index.html",
        answer.status_code,
        tab="login",
        error=summary,
        values=values,
        fields=fields,
        unconfirmed=code == "email_not_confirmed",
    )


@router.post("/register")
async def register(request: Request) -> Response:
    form = await _form(request)
    values = {k: form.get(k, "") for k in ("login", "email", "account_type")}
    fields: dict[str, str] = {}
    if form.get("password", "") != form.get("password2", ""):
        fields["password2"] = "Пароли не совпадают"
        return page(
            request,
            "index.html",
            422,
            tab="register",
            error="Проверьте заполнение полей.",
            values=values,
            fields=fields,
        )
    try:
        answer = await _client(request).call(
            "POST",
            "identity",
            "/api/v1/accounts",
            json={**values, "password": form.get("password", "")},
        )
    except httpx.TransportError:
        return page(request, "index.html", 503, tab="register", error=UNAVAILABLE, values=values, fields={})
    if answer.status_code == 201:
        return page(request, "registered.html", 201, email=values["email"])
    summary, fields = _errors(answer)
    return page(
        request, "index.html", answer.status_code, tab="register", error=summary, values=values, fields=fields
    )


@router.get("/confirm")
async def confirm_page(request: Request, token: str = "") -> Response:
    # Confirmation needs a click: mail scanners that open links must not confirm for the user.
    return page(request, "confirm.html", token=token)


@router.post("/confirm")
async def confirm(request: Request) -> Response:
    form = await _form(request)
    try:
        answer = await _client(request).call(
            "POST", "identity", "/api/v1/accounts/confirm-email", json={"token": form.get("token", "")}
        )
    except httpx.TransportError:
        return page(request, "confirm.html", 503, token=form.get("token", ""), error=UNAVAILABLE)
    if answer.status_code == 200:
        return page(request, "confirmed.html")
    summary, _ = _errors(answer)
    return page(request, "confirm.html", answer.status_code, token="", error=summary)


@router.get("/resend")
async def resend_page(request: Request) -> Response:
    return page(request, "resend.html", values={})


@router.post("/resend")
async def resend(request: Request) -> Response:
    form = await _form(request)
    email = form.get("email", "")
    try:
        answer = await _client(request).call(
            "POST", "identity", "/api/v1/accounts/resend-confirmation", json={"email": email}
        )
    except httpx.TransportError:
        return page(request, "resend.html", 503, error=UNAVAILABLE, values={"email": email})
    if answer.status_code == 202:
        return page(request, "resend.html", done=answer.json()["message"], values={})
    summary, _ = _errors(answer)
    return page(request, "resend.html", answer.status_code, error=summary, values={"email": email})


@router.get("/cabinet")
async def cabinet(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return RedirectResponse("/?tab=login", 303)
    return page(request, "cabinet.html", user=user)


@router.post("/logout")
async def logout(request: Request) -> Response:
    headers = _bearer(request)
    if headers:
        # If identity is down the cookie still goes; the session then expires on its own.
        with contextlib.suppress(httpx.TransportError):
            await _client(request).call("DELETE", "identity", "/api/v1/sessions/current", headers=headers)
    response = RedirectResponse("/", 303)
    response.delete_cookie(_settings(request).session_cookie, path="/", httponly=True, samesite="lax")
    return response
