"""The Russian web client: server-rendered pages that work without JavaScript.

Pages call the services' public API through the same client as the proxy, so a page
can do nothing that the API does not allow. Every form carries a CSRF token that must
match the ``lk_csrf`` cookie (double submit). A form post answers with a redirect
(post/redirect/get, :mod:`services.gateway.flash`): a failure goes back to the form with the
messages at their fields and the values typed, so a reload never posts again.
"""

from __future__ import annotations

import contextlib
import hmac
import re
import secrets
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from services.gateway import flash
from services.gateway.format import install
from services.gateway.next_page import login_url, safe_next
from services.gateway.proxy import ServiceClient, edge_of
from shared.auth import CSRF_COOKIE
from shared.settings import Settings

FORM_KEY = re.compile(r"^[0-9a-f]{32}$")
router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
install(templates.env)

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
    """Set the CSRF cookie when this request minted one; drop a flash that was shown."""
    token = getattr(request.state, "new_csrf", None)
    if token:
        response.set_cookie(CSRF_COOKIE, token, samesite="lax", secure=_secure(request), path="/")
    flash.finish(request, response)
    return response


async def api(
    request: Request, method: str, path: str, *, auth: bool = False, service: str = "identity", **kwargs: Any
) -> httpx.Response:
    """Call a service's API on behalf of the browser (its address and agent go along for the audit)."""
    headers = {
        **edge_of(request),
        "user-agent": request.headers.get("user-agent", ""),
        **kwargs.pop("headers", {}),
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


def idempotency(form: Mapping[str, Any], *part: object) -> dict[str, str]:
    """The ``Idempotency-Key`` header for the create a form post makes (``part`` tells apart
    several creates of one post, e.g. its files); none for a form without a valid key."""
    key = str(form.get("idempotency_key", ""))
    if not FORM_KEY.match(key):
        return {}
    return {"Idempotency-Key": "-".join([key, *map(str, part)])[:128]}


def page(request: Request, name: str, status: int = 200, **context: Any) -> Response:
    """Render ``name``; on a GET, what a redirected form post left for this page (its flash)
    is shown once: the error, the messages at the fields, the values typed, what was done."""
    if request.method == "GET":
        shown = flash.take(request)
        if "values" in shown:
            context["values"] = {**context.get("values", {}), **shown.pop("values")}
        context.update(shown)
    context.setdefault("values", {})
    context.setdefault("fields", {})
    context.setdefault("first_invalid", next(iter(context["fields"]), ""))
    # One Idempotency-Key per form shown: pressing «Отправить» twice, or again after a lost
    # answer, creates nothing twice (shared/idempotency.py).
    context.setdefault("form_key", uuid.uuid4().hex)
    response: HTMLResponse = templates.TemplateResponse(
        request, name, {"title": "Личный кабинет ТП", "csrf": _csrf(request), **context}, status_code=status
    )
    return _finish(request, response)


def back(request: Request, url: str, **shown: Any) -> Response:
    """Post/redirect/get: 303 to ``url``, which then shows ``shown`` once (see :func:`page`)."""
    return _finish(request, flash.redirect(request, url, **shown))


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


# Messages at the fields ------------------------------------------------------------------------
# An error the API names by its code alone, and the field of the form it concerns.
CODE_FIELDS = {
    "weak_password": "password",
    "same_password": "new_password",
    "wrong_password": "current_password",
    "login_taken": "login",
    "email_taken": "email",
    "account_type_not_allowed": "account_type",
}
EMPTY = {
    "login": "Укажите логин",
    "email": "Укажите адрес e-mail",
    "password": "Укажите пароль",
    "password2": "Повторите пароль",
    "current_password": "Укажите текущий пароль",
    "new_password": "Укажите новый пароль",
    "new_password2": "Повторите новый пароль",
}
EMAIL_FORMAT = "Укажите адрес e-mail в формате name@example.ru"
LOGIN_FORMAT = "Логин может содержать только латинские буквы, цифры, точку, дефис и подчёркивание"
LOGIN_LENGTH = "Логин должен содержать от 3 до 64 символов"
NAME_FIELDS = {"Имя": "first_name", "Фамилия": "last_name"}


def _field_message(name: str, code: str, message: str, value: str) -> str:
    if not value.strip() and name in EMPTY:
        return EMPTY[name]
    if name == "email" and code not in ("email_taken",):
        return EMAIL_FORMAT
    if name == "login" and code == "string_pattern_mismatch":
        return LOGIN_FORMAT
    if name == "login" and code in ("string_too_short", "string_too_long"):
        return LOGIN_LENGTH
    if "password" in name and code == "string_too_long":
        return "Пароль слишком длинный"
    text = message.strip().rstrip(".")
    return text[:1].upper() + text[1:]


def field_errors(
    answer: httpx.Response, values: dict[str, str], rename: dict[str, str] | None = None
) -> tuple[str, dict[str, str], str]:
    """(banner, messages at the fields, code) of an API error answer for a form.

    The API's per-field errors (422 ``errors``) and the errors it names by code only
    (``weak_password``, ``login_taken`` …) go to their fields, in specific Russian; the banner
    keeps only what concerns no field of the form (``values`` names the form's fields).
    ``rename`` maps an API field to the form's
    (``password`` → ``new_password``)."""
    summary, api_fields, code = _errors(answer)
    rename = rename or {}
    fields: dict[str, str] = {}
    for api_name, message in api_fields.items():
        name = rename.get(api_name, api_name)
        field_code = next(
            (str(e.get("code", "")) for e in _error_list(answer) if e.get("field") == api_name), ""
        )
        fields[name] = _field_message(name, field_code, message, values.get(name, ""))
    if not api_fields:
        name = rename.get(CODE_FIELDS.get(code, ""), CODE_FIELDS.get(code, ""))
        if code == "invalid_name":
            label, _, rest = summary.partition(":")
            name, summary = NAME_FIELDS.get(label.strip(), ""), rest or summary
        if name:
            fields[name] = _field_message(name, code, summary, values.get(name, "x"))
    elsewhere = [m for n, m in fields.items() if n not in values]  # no such field on this form
    fields = {n: m for n, m in fields.items() if n in values}
    if elsewhere:
        return " ".join([summary.rstrip(".") + ":", *elsewhere]), fields, code
    return ("" if fields else summary), fields, code  # what a field says, no banner repeats


def _error_list(answer: httpx.Response) -> list[dict[str, Any]]:
    try:
        errors = answer.json().get("errors") or []
    except (ValueError, AttributeError):
        return []
    return [e for e in errors if isinstance(e, dict)]


def required(values: dict[str, str], *names: str) -> dict[str, str]:
    """«Укажите …» for each of ``names`` left empty, before asking the API."""
    return {n: EMPTY[n] for n in names if not values.get(n, "").strip()}


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie.encode(), values.get("csrf", "").encode()):
        raise _Stale
    return values


def same_origin(request: Request) -> bool:
    """A post from the cabinet's own pages, for forms whose body the gateway streams on
    unread (uploads) and so cannot check the CSRF field: browsers say where a post comes from
    (``Sec-Fetch-Site``, else ``Origin``), and a page of another site cannot change that."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site == "same-origin"
    origin = request.headers.get("origin", "")
    if not origin or origin == "null":
        return False
    public = urlsplit(_settings(request).public_url)
    ours = {f"{public.scheme}://{public.netloc}", f"{request.url.scheme}://{request.headers.get('host', '')}"}
    return origin.rstrip("/") in ours


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
    target = safe_next(request.query_params.get("next"))  # where a login returns to
    if await current_user(request):
        return RedirectResponse(target or "/cabinet", 303)
    tab = "register" if tab == "register" else "login"
    return page(request, "index.html", tab=tab, title=TAB_TITLES[tab], next=target)


TAB_TITLES = {"login": "Вход — Личный кабинет ТП", "register": "Регистрация — Личный кабинет ТП"}


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
        return back(request, "/?tab=login", error=STALE_FORM)
    target = safe_next(form.get("next"))
    again = login_url(target)
    values = {"login": form.get("login", ""), "password": form.get("password", "")}
    missing = required(values, "login", "password")
    if missing:
        return back(request, again, values=values, fields=missing)
    try:
        answer = await api(request, "POST", "/api/v1/sessions", json=values)
    except httpx.TransportError:
        return back(request, again, error=UNAVAILABLE, values=values)
    if answer.status_code == 201:
        body = answer.json()
        response = RedirectResponse(target or "/cabinet", 303)
        _login_cookie(request, response, body["access_token"], int(body["expires_in"]))
        _new_csrf_cookie(request, response)
        return response
    summary, fields, code = field_errors(answer, values)
    return back(
        request,
        again,
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
        return back(request, "/?tab=register", error=STALE_FORM)
    values = {k: form.get(k, "") for k in ("login", "email", "account_type", "password", "password2")}
    fields = required(values, "login", "email", "password", "password2")
    if "email" not in fields and not EMAIL_SHAPE.match(values["email"].strip()):
        fields["email"] = EMAIL_FORMAT
    if "password2" not in fields and values["password"] != values["password2"]:
        fields["password2"] = "Пароли не совпадают"
    if fields:
        return back(request, "/?tab=register", values=values, fields=fields)
    body = {k: values[k] for k in ("login", "email", "account_type", "password")}
    try:
        answer = await api(request, "POST", "/api/v1/accounts", json=body, headers=idempotency(form))
    except httpx.TransportError:
        return back(request, "/?tab=register", error=UNAVAILABLE, values=values)
    if answer.status_code == 201:
        return back(request, "/registered", email=values["email"])
    summary, fields, _ = field_errors(answer, values)
    return back(request, "/?tab=register", error=summary, values=values, fields=fields)


EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@router.get("/registered")
async def registered(request: Request) -> Response:
    if not flash.take(request).get("email"):
        return RedirectResponse("/?tab=register", 303)
    return page(request, "registered.html", title="Регистрация почти завершена — Личный кабинет ТП")


# e-mail confirmation ----------------------------------------------------------------------
@router.get("/confirm")
async def confirm_page(request: Request, token: str = "") -> Response:
    # Confirmation needs a click: mail scanners that open links must not confirm for the user.
    return page(request, "confirm.html", token=token, title="Подтверждение e-mail — Личный кабинет ТП")


@router.post("/confirm")
async def confirm(request: Request) -> Response:
    try:
        form = await _form(request)
    except _Stale:
        return back(request, "/confirm", error=STALE_FORM)
    try:
        answer = await api(
            request, "POST", "/api/v1/accounts/confirm-email", json={"token": form.get("token", "")}
        )
    except httpx.TransportError:
        return back(request, "/confirm", error=UNAVAILABLE, token=form.get("token", ""))
    if answer.status_code == 200:
        return back(request, "/confirmed", done="1")
    return back(request, "/confirm", error=_errors(answer)[0])


@router.get("/confirmed")
async def confirmed(request: Request) -> Response:
    if not flash.take(request).get("done"):
        return RedirectResponse("/?tab=login", 303)
    return page(request, "confirmed.html", title="Адрес подтверждён — Личный кабинет ТП")


@router.get("/resend")
async def resend_page(request: Request) -> Response:
    return page(request, "resend.html", title="Повторная отправка ссылки — Личный кабинет ТП")


@router.post("/resend")
async def resend(request: Request) -> Response:
    return await _mail_request(request, "/resend", "/api/v1/accounts/resend-confirmation")


@router.get("/forgot")
async def forgot_page(request: Request) -> Response:
    return page(request, "forgot.html", title="Восстановление пароля — Личный кабинет ТП")


@router.post("/forgot")
async def forgot(request: Request) -> Response:
    return await _mail_request(request, "/forgot", "/api/v1/password-reset")


async def _mail_request(request: Request, url: str, path: str) -> Response:
    """«Отправить ссылку» (resend the confirmation, reset the password): one e-mail field."""
    try:
        form = await _form(request)
    except _Stale:
        return back(request, url, error=STALE_FORM)
    values = {"email": form.get("email", "")}
    fields = required(values, "email")
    if not fields and not EMAIL_SHAPE.match(values["email"].strip()):
        fields["email"] = EMAIL_FORMAT
    if fields:
        return back(request, url, values=values, fields=fields)
    try:
        answer = await api(request, "POST", path, json=values)
    except httpx.TransportError:
        return back(request, url, error=UNAVAILABLE, values=values)
    if answer.status_code == 202:
        return back(request, url, done=answer.json()["message"])
    summary, fields, _ = field_errors(answer, values)
    return back(request, url, error=summary, values=values, fields=fields)


# password reset -----------------------------------------------------------------------------
@router.get("/reset")
async def reset_page(request: Request, token: str = "") -> Response:
    # After a failed post the link's token comes back in the flash, never in the address.
    return page(request, "reset.html", token=token, title="Новый пароль — Личный кабинет ТП")


@router.post("/reset")
async def reset(request: Request) -> Response:
    try:
        form = await _form(request)
    except _Stale:
        return back(request, "/reset", error=STALE_FORM)
    token = form.get("token", "")
    values = {k: form.get(k, "") for k in ("new_password", "new_password2")}
    fields = required(values, "new_password", "new_password2")
    if not fields and values["new_password"] != values["new_password2"]:
        fields["new_password2"] = "Пароли не совпадают"
    if fields:
        return back(request, "/reset", token=token, fields=fields)
    try:
        answer = await api(
            request,
            "POST",
            "/api/v1/password-reset/confirm",
            json={"token": token, "new_password": values["new_password"]},
        )
    except httpx.TransportError:
        return back(request, "/reset", token=token, error=UNAVAILABLE)
    if answer.status_code == 200:
        response = back(request, "/reset", done=answer.json()["message"])
        response.delete_cookie(_settings(request).session_cookie, path="/")
        return response
    summary, fields, code = field_errors(answer, values, {"password": "new_password"})
    fields = {k: v for k, v in fields.items() if k in values}
    return back(
        request, "/reset", token="" if code == "invalid_token" else token, error=summary, fields=fields
    )


# the cabinet -----------------------------------------------------------------------------------
@router.get("/cabinet")
async def cabinet(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return RedirectResponse("/?tab=login", 303)
    return page(
        request, "cabinet.html", user=user, active="cabinet", title="Личный кабинет — Личный кабинет ТП"
    )


PROFILE_TITLE = "Профиль — Личный кабинет ТП"


@router.get("/profile")
async def profile_page(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return RedirectResponse("/?tab=login", 303)
    return page(request, "profile.html", user=user, active="profile", values=user, title=PROFILE_TITLE)


@router.post("/profile")
async def update_profile(request: Request) -> Response:
    if await current_user(request) is None:
        return RedirectResponse("/?tab=login", 303)
    try:
        form = await _form(request)
    except _Stale:
        return back(request, "/profile", error=STALE_FORM)
    values = {"first_name": form.get("first_name", ""), "last_name": form.get("last_name", "")}
    try:
        answer = await api(request, "PATCH", "/api/v1/me", auth=True, json=values)
    except httpx.TransportError:
        return back(request, "/profile", error=UNAVAILABLE, values=values)
    if answer.status_code == 200:
        return back(request, "/profile", done="Профиль обновлён.")
    summary, fields, _ = field_errors(answer, values)
    return back(request, "/profile", error=summary, values=values, fields=fields)


@router.post("/profile/password")
async def change_password(request: Request) -> Response:
    if await current_user(request) is None:
        return RedirectResponse("/?tab=login", 303)
    try:
        form = await _form(request)
    except _Stale:
        return back(request, "/profile", error=STALE_FORM)
    values = {k: form.get(k, "") for k in ("current_password", "new_password", "new_password2")}
    fields = required(values, *values)
    if not fields and values["new_password"] != values["new_password2"]:
        fields["new_password2"] = "Пароли не совпадают"
    if fields:
        return back(request, "/profile", fields=fields)
    body = {"current_password": values["current_password"], "new_password": values["new_password"]}
    try:
        answer = await api(request, "POST", "/api/v1/me/password", auth=True, json=body)
    except httpx.TransportError:
        return back(request, "/profile", error=UNAVAILABLE)
    if answer.status_code == 200:
        return back(request, "/profile", done=answer.json()["message"])
    summary, fields, _ = field_errors(answer, values, {"password": "new_password"})
    return back(request, "/profile", error=summary, fields=fields)


@router.post("/logout")
async def logout(request: Request) -> Response:
    try:
        await _form(request)
    except _Stale:
        # Still logged in: back to the cabinet (or the entry, if the session is gone) with the reason.
        logged_in = bool(request.cookies.get(_settings(request).session_cookie))
        return back(request, "/cabinet" if logged_in else "/?tab=login", error=STALE_FORM)
    if request.cookies.get(_settings(request).session_cookie):
        # If identity is down the cookie still goes; the session then expires on its own.
        with contextlib.suppress(httpx.TransportError):
            await api(request, "DELETE", "/api/v1/sessions/current", auth=True)
    response = RedirectResponse("/", 303)
    response.delete_cookie(_settings(request).session_cookie, path="/", httponly=True, samesite="lax")
    _new_csrf_cookie(request, response)
    return response
