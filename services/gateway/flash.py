"""Post/redirect/get for the forms that work without JavaScript.

A form post never answers with a page: it redirects (303) to a page, and what that page must
say — the error, the message at each field, what was typed (never a password), or what was
done — travels in a *flash*: a short-lived cookie signed with the platform's key, bound to the
page it is for, shown once and then deleted. A reload therefore reloads the page and never
posts the form again, and nothing of it goes into a URL.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import zlib
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import RedirectResponse

from shared.settings import Settings

FLASH_COOKIE = "lk_flash"
TTL = 120  # seconds: enough for the redirect, too short to matter later
MAX_COOKIE = 3800  # browsers keep 4096 bytes per cookie, name and attributes included
_SECRET_FIELDS = ("password", "csrf", "token")


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _key(request: Request) -> bytes:
    return hashlib.sha256(b"lk-flash\x00" + _settings(request).secret().encode()).digest()


def _sign(request: Request, body: str) -> str:
    return base64.urlsafe_b64encode(hmac.digest(_key(request), body.encode(), "sha256")[:18]).decode()


def _encode(request: Request, payload: dict[str, Any]) -> str:
    raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    body = base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode().rstrip("=")
    return f"{body}.{_sign(request, body)}"


def kept(values: dict[str, str] | None) -> dict[str, str]:
    """What of a form's values may be shown again: never passwords, tokens or the CSRF field."""
    return {k: v for k, v in (values or {}).items() if not any(s in k for s in _SECRET_FIELDS)}


def redirect(request: Request, url: str, **flash: Any) -> RedirectResponse:
    """303 to ``url`` carrying ``flash`` (``error``, ``fields``, ``values``, ``done`` and any
    other names the page's template reads) for that page only."""
    payload: dict[str, Any] = {"p": urlsplit(url).path, "t": int(time.time())}
    payload.update({k: v for k, v in flash.items() if v not in (None, "", {}, [])})
    if "values" in payload:
        payload["values"] = kept(payload["values"])
    value = _encode(request, payload)
    if len(value) > MAX_COOKIE:  # a very long text typed: keep the messages, drop the values
        payload.pop("values", None)
        value = _encode(request, payload)
    response = RedirectResponse(url, 303)
    response.set_cookie(
        FLASH_COOKIE,
        value,
        max_age=TTL,
        httponly=True,
        samesite="lax",
        secure=_settings(request).cookie_secure or request.url.scheme == "https",
        path="/",
    )
    return response


def take(request: Request) -> dict[str, Any]:
    """The flash for this page (once), or {}; a flash for another page stays for it."""
    if getattr(request.state, "flash", None) is not None:
        return dict(request.state.flash)
    request.state.flash = {}
    raw = request.cookies.get(FLASH_COOKIE, "")
    body, _, mac = raw.partition(".")
    if not body or not hmac.compare_digest(mac.encode(), _sign(request, body).encode()):
        request.state.flash_stale = bool(raw)
        return {}
    try:
        payload: dict[str, Any] = json.loads(
            zlib.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        )
    except (ValueError, zlib.error):
        request.state.flash_stale = True
        return {}
    if time.time() - float(payload.get("t", 0)) > TTL:
        request.state.flash_stale = True
        return {}
    if payload.get("p") != request.url.path:
        return {}
    payload.pop("p", None)
    payload.pop("t", None)
    request.state.flash = payload
    request.state.flash_stale = True  # shown now: delete it
    return dict(payload)


def finish(request: Request, response: Any) -> None:
    """Delete a flash that was shown (or is broken or expired)."""
    if getattr(request.state, "flash_stale", False):
        response.delete_cookie(FLASH_COOKIE, path="/", httponly=True, samesite="lax")
