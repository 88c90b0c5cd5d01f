"""The Russian web client: server-rendered pages that work without JavaScript.

Pages call the services' public API through the same client as the proxy, so a page
can do nothing that the API does not allow. Every form carries a CSRF token that must
match the ``lk_csrf`` cookie (double submit).
"""

from __future__ import annotations

import contextlib
import hmac
import secrets
from pathlib import Path
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from services.gateway.proxy import ServiceClient, edge_of
from shared.auth import CSRF_COOKIE
from shared.settings import Settings

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

UNAVAILABLE = "Сервис временно недоступен, попробуйте через минуту."
STALE_FORM = "Форма устарела: обновите страницу и повторите действие."


class _Stale(Exception):
    """The form's CSRF token did not match the cookie."""


def _client(request: Request) -> ServiceClient:
    client: ServiceClient = request.app.state.client
    return client


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _csrf(request: Request) -> str:
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if not token:
        token = request.state.new_csrf = secrets.token_urlsafe(24)
    return str(token)


def _secure(request: Request) -> bool:
    return _settings(request).cookie_secure or request.url.scheme == "https"


def _finish(request: Request, response: Response) -> Response:
    """Set the CSRF cookie when this request minted one."""
    token = getattr(request.state, "new_csrf", None)
    if token:
        response.set_cookie(CSRF_COOKIE, token, samesite="lax", secure=_secure(request), path="/")
    return response


async def api(
    request: Request, method: str, path: str, *, auth: bool = False, service: str = "identity", **kwargs: Any
) -> httpx.Response:
    """Call a service's API on behalf of the browser (its address and agent go along for the audit)."""
    headers = {
        **edge_of(request),
        "user-agent": request.headers.get("user-agent", ""),
    }
    token = request.cookies.get(_settings(request).session_cookie)
    if auth and token:
        headers["authorization"] = f"Bearer {token}"
    return await _client(request).call(method, service, path, headers=headers, **kwargs)


async def current_user(request: Request) -> dict[str, Any] | None:
    """The logged-in account (``GET /api/v1/me``), or None."""
    if not request.cookies.get(_settings(request).session_cookie):
        return None
    try:
        answer = await api(request, "GET", "/api/v1/me", auth=True)
    except httpx.TransportError:
        return None
    return answer.json() if answer.status_code == 200 else None


def page(request: Request, name: str, status: int = 200, **context: Any) -> Response:
    context.setdefault("values", {})
    context.setdefault("fields", {})
    response: HTMLResponse = templates.TemplateResponse(
        request, name, {"title": "Личный кабинет ТП", "csrf": _csrf(request), **context}, status_code=status
    )
    return _finish(request, response)


def _errors(answer: httpx.Response) -> tuple[str, dict[str, str], str]:
    """(summary, per-field messages, code) from an API error answer."""
    try:
        body = answer.json()
    except ValueError:
        return UNAVAILABLE, {}, ""
    fields = {
        e["field"]: e["message"] for e in body.get("errors", []) if isinstance(e, dict) and "field" in e
    }
    return str(body.get("message", UNAVAILABLE)), fields, str(body.get("code", ""))


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie.encode(), values.get("csrf", "").encode()):
        raise _Stale
    return values


def _login_cookie(request: Request, response: Response, token: str, ttl: int) -> None:
    response.set_cookie(
        _settings(request).session_cookie,
        token,
        max_age=ttl,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/",
    )


def _new_csrf_cookie(request: Request, response: Response) -> None:
    """A fresh CSRF token at login and at logout: a value seen before never outlives a session."""
    response.set_cookie(
        CSRF_COOKIE, secrets.token_urlsafe(24), samesite="lax", secure=_secure(request), path="/"
    )


# entry: tabs «Вход» and «Регистрация» -----------------------------------------------------
@router.get("/")
async def index(request: Request, tab: str = "login") -> Response:
    if await current_user(request):
        return RedirectResponse("/cabinet", 303)
    return page(request, "index.html", tab="register" if tab == "register" else "login")


@router.get("/login")
async def login_page(request: Request) -> Response:
    return RedirectResponse("/?tab=login", 303)


@router.get("/register")
async def register_page(request: Request) -> Response:
    return RedirectResponse("/?tab=register", 303)


@router.post("/login")
async def login(request: Request) -> Response:
    try:
        form = await _form(request)
    except _Stale:
        return page(request, "index.html", 403, tab="login", error=STALE_FORM)
    values = {"login": form.get("login", "")}
    try:
        answer = await api(
            request,
            "POST",
            "/api/v1/sessions",
            json={"login": values["login"], "password": form.get("password", "")},
        )
    except httpx.TransportError:
        return page(request, "index.html", 503, tab="login", error=UNAVAILABLE, values=values)
    if answer.status_code == 201:
        body = answer.json()
        response = RedirectResponse("/cabinet", 303)
        _login_cookie(request, response, body["access_token"], int(body["expires_in"]))
        _new_csrf_cookie(request, response)
        return response
    summary, fields, code = _errors(answer)
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
    try:
        form = await _form(request)
    except _Stale:
        return page(request, "index.html", 403, tab="register", error=STALE_FORM)
    values = {k: form.get(k, "") for k in ("login", "email", "account_type")}
    if form.get("password", "") != form.get("password2", ""):
        return page(
            request,
            "index.html",
            422,
            tab="register",
            error="Проверьте заполнение полей.",
            values=values,
            fields={"password2": "Пароли не совпадают"},
        )
    try:
        answer = await api(
            request, "POST", "/api/v1/accounts", json={**values, "password": form.get("password", "")}
        )
    except httpx.TransportError:
        return page(request, "index.html", 503, tab="register", error=UNAVAILABLE, values=values)
    if answer.status_code == 201:
        return page(request, "registered.html", 201, email=values["email"])
    summary, fields, _ = _errors(answer)
    return page(
        request, "index.html", answer.status_code, tab="register", error=summary, values=values, fields=fields
    )


# e-mail confirmation ----------------------------------------------------------------------
@router.get("/confirm")
async def confirm_page(request: Request, token: str = "") -> Response:
    # Confirmation needs a click: mail scanners that open links must not confirm for the user.
    return page(request, "confirm.html", token=token)


@router.post("/confirm")
async def confirm(request: Request) -> Response:
    try:
        form = await _form(request)
    except _Stale:
        return page(request, "confirm.html", 403, token="", error=STALE_FORM)
    try:
        answer = await api(
            request, "POST", "/api/v1/accounts/confirm-email", json={"token": form.get("token", "")}
        )
    except httpx.TransportError:
        return page(request, "confirm.html", 503, token=form.get("token", ""), error=UNAVAILABLE)
    if answer.status_code == 200:
        return page(request, "confirmed.html")
    return page(request, "confirm.html", answer.status_code, token="", error=_errors(answer)[0])


@router.get("/resend")
async def resend_page(request: Request) -> Response:
    return page(request, "resend.html")


@router.post("/resend")
async def resend(request: Request) -> Response:
    try:
        form = await _form(request)
    except _Stale:
        return page(request, "resend.html", 403, error=STALE_FORM)
    values = {"email": form.get("email", "")}
    try:
        answer = await api(request, "POST", "/api/v1/accounts/resend-confirmation", json=values)
    except httpx.TransportError:
        return page(request, "resend.html", 503, error=UNAVAILABLE, values=values)
    if answer.status_code == 202:
        return page(request, "resend.html", done=answer.json()["message"])
    summary, fields, _ = _errors(answer)
    return page(request, "resend.html", answer.status_code, error=summary, values=values, fields=fields)


# password reset -----------------------------------------------------------------------------
@router.get("/forgot")
async def forgot_page(request: Request) -> Response:
    return page(request, "forgot.html")


@router.post("/forgot")
async def forgot(request: Request) -> Response:
    try:
        form = await _form(request)
    except _Stale:
        return page(request, "forgot.html", 403, error=STALE_FORM)
    values = {"email": form.get("email", "")}
    try:
        answer = await api(request, "POST", "/api/v1/password-reset", json=values)
    except httpx.TransportError:
        return page(request, "forgot.html", 503, error=UNAVAILABLE, values=values)
    if answer.status_code == 202:
        return page(request, "forgot.html", done=answer.json()["message"])
    summary, fields, _ = _errors(answer)
    return page(request, "forgot.html", answer.status_code, error=summary, values=values, fields=fields)


@router.get("/reset")
async def reset_page(request: Request, token: str = "") -> Response:
    return page(request, "reset.html", token=token)


@router.post("/reset")
async def reset(request: Request) -> Response:
    try:
        form = await _form(request)
    except _Stale:
        return page(request, "reset.html", 403, token="", error=STALE_FORM)
    token = form.get("token", "")
    if form.get("new_password", "") != form.get("new_password2", ""):
        return page(request, "reset.html", 422, token=token, fields={"new_password2": "Пароли не совпадают"})
    try:
        answer = await api(
            request,
            "POST",
            "/api/v1/password-reset/confirm",
            json={"token": token, "new_password": form.get("new_password", "")},
        )
    except httpx.TransportError:
        return page(request, "reset.html", 503, token=token, error=UNAVAILABLE)
    if answer.status_code == 200:
        response = page(request, "reset.html", done=answer.json()["message"], token="")
        response.delete_cookie(_settings(request).session_cookie, path="/")
        return response
    summary, fields, code = _errors(answer)
    return page(
        request,
        "reset.html",
        answer.status_code,
        token="" if code == "invalid_token" else token,
        error=summary,
        fields={"new_password": fields.get("new_password", "")} if fields else {},
    )


# the cabinet -----------------------------------------------------------------------------------
@router.get("/cabinet")
async def cabinet(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return RedirectResponse("/?tab=login", 303)
    return page(request, "cabinet.html", user=user, active="cabinet")


@router.get("/profile")
async def profile_page(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return RedirectResponse("/?tab=login", 303)
    return page(request, "profile.html", user=user, active="profile", values=user)


@router.post("/profile")
async def update_profile(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return RedirectResponse("/?tab=login", 303)
    try:
        form = await _form(request)
    except _Stale:
        return page(request, "profile.html", 403, user=user, active="profile", values=user, error=STALE_FORM)
    values = {"first_name": form.get("first_name", ""), "last_name": form.get("last_name", "")}
    try:
        answer = await api(request, "PATCH", "/api/v1/me", auth=True, json=values)
    except httpx.TransportError:
        return page(
            request, "profile.html", 503, user=user, active="profile", values=values, error=UNAVAILABLE
        )
    if answer.status_code == 200:
        fresh = answer.json()
        return page(
            request, "profile.html", user=fresh, active="profile", values=fresh, done="Профиль обновлён."
        )
    summary, fields, _ = _errors(answer)
    return page(
        request,
        "profile.html",
        answer.status_code,
        user=user,
        active="profile",
        values=values,
        error=summary,
        fields=fields,
    )


@router.post("/profile/password")
async def change_password(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return RedirectResponse("/?tab=login", 303)
    try:
        form = await _form(request)
    except _Stale:
        return page(request, "profile.html", 403, user=user, active="profile", values=user, error=STALE_FORM)
    if form.get("new_password", "") != form.get("new_password2", ""):
        return page(
            request,
            "profile.html",
            422,
            user=user,
            active="profile",
            values=user,
            fields={"new_password2": "Пароли не совпадают"},
            error="Проверьте заполнение полей.",
        )
    body = {
        "current_password": form.get("current_password", ""),
        "new_password": form.get("new_password", ""),
    }
    try:
        answer = await api(request, "POST", "/api/v1/me/password", auth=True, json=body)
    except httpx.TransportError:
        return page(request, "profile.html", 503, user=user, active="profile", values=user, error=UNAVAILABLE)
    if answer.status_code == 200:
        return page(
            request, "profile.html", user=user, active="profile", values=user, done=answer.json()["message"]
        )
    summary, fields, _ = _errors(answer)
    return page(
        request,
        "profile.html",
        answer.status_code,
        user=user,
        active="profile",
        values=user,
        error=summary,
        fields=fields,
    )


@router.post("/logout")
async def logout(request: Request) -> Response:
    try:
        await _form(request)
    except _Stale:
        return page(request, "index.html", 403, tab="login", error=STALE_FORM)
    if request.cookies.get(_settings(request).session_cookie):
        # If identity is down the cookie still goes; the session then expires on its own.
        with contextlib.suppress(httpx.TransportError):
            await api(request, "DELETE", "/api/v1/sessions/current", auth=True)
    response = RedirectResponse("/", 303)
    response.delete_cookie(_settings(request).session_cookie, path="/", httponly=True, samesite="lax")
    _new_csrf_cookie(request, response)
    return response
