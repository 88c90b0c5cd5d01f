"""Sessions: log in (a bearer token, the same in an HttpOnly cookie) and log out."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request, Response

from services.identity.api.deps import AuditInfo, CurrentSession, State
from services.identity.api.schemas import LoginIn, SessionOut
from shared.auth import CSRF_COOKIE
from shared.edge import client_scheme
from shared.http import answers
from shared.runtime import blocking
from shared.settings import Settings

router = APIRouter(prefix="/api/v1")


def secure_cookies(request: Request, settings: Settings) -> bool:
    return settings.cookie_secure or client_scheme(request) == "https"


def set_csrf_cookie(request: Request, response: Response, settings: Settings, max_age: int | None) -> None:
    """A fresh double-submit CSRF token (readable by scripts, not HttpOnly by design): a
    new one at every login and logout, so a value seen before never outlives a session."""
    response.set_cookie(
        CSRF_COOKIE,
        secrets.token_urlsafe(24),
        max_age=max_age,
        samesite="lax",
        secure=secure_cookies(request, settings),
        path="/",
    )


@router.post(
    "/sessions", status_code=201, response_model=SessionOut, responses=answers(401, 403, 409, 422, 429)
)
async def log_in(
    body: LoginIn, request: Request, state: State, audit: AuditInfo, response: Response
) -> SessionOut:
    """Log in: a bearer token in the body and the same token in an HttpOnly cookie.
    Failures are throttled per (login, address) and per address (429); a login that keeps
    failing from anywhere answers more slowly (``throttle.py``)."""
    async with state.throttle.login(body.login, audit["ip"]):
        token, ttl, _ = await blocking(state.identity.log_in, body.login, body.password, audit)
    settings = state.settings
    secure = secure_cookies(request, settings)
    response.set_cookie(
        settings.session_cookie, token, max_age=ttl, httponly=True, samesite="lax", secure=secure, path="/"
    )
    set_csrf_cookie(request, response, settings, ttl)
    return SessionOut(access_token=token, expires_in=ttl)


@router.delete("/sessions/current", status_code=204, responses=answers(401, 403, 409))
async def log_out(request: Request, state: State, session: CurrentSession, audit: AuditInfo) -> Response:
    await blocking(state.identity.log_out, *session, audit)
    response = Response(status_code=204)
    response.delete_cookie(state.settings.session_cookie, path="/", httponly=True, samesite="lax")
    set_csrf_cookie(request, response, state.settings, None)
    return response
