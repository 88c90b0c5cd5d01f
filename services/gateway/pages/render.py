"""Answers of the pages: a rendered template (:func:`page`), a redirect that carries what the
next page shows once (:func:`back`, post/redirect/get with :mod:`services.gateway.flash`),
the cookies they set, and :class:`Answered` for a step that has decided the answer early."""

from __future__ import annotations

import secrets
import uuid
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from services.gateway import flash
from services.gateway.format import install
from services.gateway.state import gateway_of
from shared.auth import CSRF_COOKIE

templates = Jinja2Templates(directory=Path(__file__).parents[1] / "templates")
install(templates.env)


class Answered(Exception):
    """A step of a page has decided the answer (a stale form, a refusal, a visitor who must
    log in first): the request is answered with ``response`` (see errors.py)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def csrf_token(request: Request) -> str:
    """The CSRF token of the forms on this page (the cookie's, or a new one set with it)."""
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if not token:
        token = request.state.new_csrf = secrets.token_urlsafe(24)
    return str(token)


def secure(request: Request) -> bool:
    return gateway_of(request).settings.cookie_secure or request.url.scheme == "https"


def finish(request: Request, response: Response) -> Response:
    """Set the CSRF cookie when this request minted one; drop a flash that was shown."""
    token = getattr(request.state, "new_csrf", None)
    if token:
        response.set_cookie(CSRF_COOKIE, token, samesite="lax", secure=secure(request), path="/")
    flash.finish(request, response)
    return response


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
        request,
        name,
        {"title": "Личный кабинет ТП", "csrf": csrf_token(request), **context},
        status_code=status,
    )
    return finish(request, response)


def not_found(request: Request, user: dict[str, Any] | None, refusal: dict[str, Any]) -> Response:
    """404 with the service's own words (``refusal``: its error answer)."""
    return page(request, "not_found.html", 404, user=user, message=refusal.get("message", ""))


def back(request: Request, url: str, **shown: Any) -> Response:
    """Post/redirect/get: 303 to ``url``, which then shows ``shown`` once (see :func:`page`)."""
    return finish(request, flash.redirect(request, url, **shown))


def login_cookie(request: Request, response: Response, token: str, ttl: int) -> None:
    response.set_cookie(
        gateway_of(request).settings.session_cookie,
        token,
        max_age=ttl,
        httponly=True,
        samesite="lax",
        secure=secure(request),
        path="/",
    )


def fresh_csrf_cookie(request: Request, response: Response) -> None:
    """A fresh CSRF token at login and at logout: a value seen before never outlives a session."""
    response.set_cookie(
        CSRF_COOKIE, secrets.token_urlsafe(24), samesite="lax", secure=secure(request), path="/"
    )
