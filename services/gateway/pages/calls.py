"""The pages call the services' public API through the gateway's own client, on behalf of
the browser (its address and agent go along for the audit), so a page can do nothing the API
does not allow; the service is the one the routing table names for the path."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, NamedTuple

import httpx
from fastapi import Depends, Request
from fastapi.responses import RedirectResponse

from services.gateway.next_page import login_url, to_login
from services.gateway.pages.render import Answered
from services.gateway.proxy import edge_of
from services.gateway.routes import service_for
from services.gateway.state import gateway_of

User = dict[str, Any]  # the account as ``GET /api/v1/me`` describes it
UNAVAILABLE = "Сервис временно недоступен, попробуйте через минуту."
FORM_KEY = re.compile(r"^[0-9a-f]{32}$")


async def api(
    request: Request, method: str, path: str, *, auth: bool = False, **kwargs: Any
) -> httpx.Response:
    """Call ``path`` of the public API (with the session's token when ``auth``); raises
    httpx.TransportError when the service is down."""
    service = service_for(path.partition("?")[0])
    if service is None:
        raise LookupError(f"no service serves {path}")
    gateway = gateway_of(request)
    headers = {
        **edge_of(request),
        "user-agent": request.headers.get("user-agent", ""),
        **kwargs.pop("headers", {}),
    }
    token = request.cookies.get(gateway.settings.session_cookie)
    if auth and token:
        headers["authorization"] = f"Bearer {token}"
    return await gateway.client.call(method, service, path, headers=headers, **kwargs)


async def get_json(request: Request, path: str, *, auth: bool = True) -> tuple[int, Any]:
    """(status, body) of a GET."""
    answer = await api(request, "GET", path, auth=auth)
    return answer.status_code, answer.json()


async def current_user(request: Request) -> User | None:
    """The logged-in account (``GET /api/v1/me``), or None."""
    if not request.cookies.get(gateway_of(request).settings.session_cookie):
        return None
    try:
        answer = await api(request, "GET", "/api/v1/me", auth=True)
    except httpx.TransportError:
        return None
    return answer.json() if answer.status_code == 200 else None


async def signed_in(request: Request) -> User:
    """The logged-in account; an anonymous visitor goes to the login and back to this page."""
    user = await current_user(request)
    if user is None:
        raise Answered(to_login(request))
    return user


async def signed_in_to_cabinet(request: Request) -> User:
    """The logged-in account; an anonymous visitor goes to the login (and then the cabinet)."""
    user = await current_user(request)
    if user is None:
        raise Answered(RedirectResponse(login_url(""), 303))
    return user


Visitor = Annotated[User | None, Depends(current_user)]
SignedIn = Annotated[User, Depends(signed_in)]
SignedInToCabinet = Annotated[User, Depends(signed_in_to_cabinet)]
SIGNED_IN = Depends(signed_in)  # for routes that need the login, not the account


def idempotency(form: Mapping[str, Any], *part: object) -> dict[str, str]:
    """The ``Idempotency-Key`` header for the create a form post makes (``part`` tells apart
    several creates of one post, e.g. its files); none for a form without a valid key."""
    key = str(form.get("idempotency_key", ""))
    if not FORM_KEY.match(key):
        return {}
    return {"Idempotency-Key": "-".join([key, *map(str, part)])[:128]}


class Refusal(NamedTuple):
    """An API error answer: its message, the messages per field (422) and its code."""

    message: str
    fields: dict[str, str]
    code: str


def refusal_of(answer: httpx.Response) -> Refusal:
    try:
        body = answer.json()
    except ValueError:
        return Refusal(UNAVAILABLE, {}, "")
    fields = {
        e["field"]: e["message"] for e in body.get("errors", []) if isinstance(e, dict) and "field" in e
    }
    return Refusal(str(body.get("message", UNAVAILABLE)), fields, str(body.get("code", "")))


def error_list(answer: httpx.Response) -> list[dict[str, Any]]:
    """The per-field errors of a 422 answer, as the API gives them."""
    try:
        errors = answer.json().get("errors") or []
    except (ValueError, AttributeError):
        return []
    return [e for e in errors if isinstance(e, dict)]
