"""Routes ``/api/v1/*`` to the owning service over HTTP, streaming both ways."""

from __future__ import annotations

import re
from typing import Any

import httpx
from fastapi import Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.background import BackgroundTask

from shared.http import error_body
from shared.settings import Settings

# Path after /api/v1 (two segments, else the first) → service. Issues add their resources here.
ROUTES: dict[str, str] = {
    "accounts": "identity",
    "sessions": "identity",
    "me": "identity",
    "password-reset": "identity",
    "application-types": "applications",
    "applications": "applications",
    "files": "files",
    "forms": "files",
    "admin/accounts": "identity",
}

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}

BUFFER_MAX = 256 * 1024
# Answers keep Content-Length (download progress, no chunked re-encoding); the gateway's
# own server sets Date and Server.
_RESPONSE_DROP = (_HOP_BY_HOP - {"content-length"}) | {"date", "server"}

UNAVAILABLE = error_body("service_unavailable", "Сервис временно недоступен, попробуйте через минуту.")


CHAT_RESOURCES = {"messages", "chat", "presence"}

# Reachable without a session: registration, confirmation, login, password reset, the
# catalog and the standard forms. Everything else needs a valid token at the gateway.
PUBLIC: set[tuple[str, str]] = {
    ("POST", "/api/v1/accounts"),
    ("POST", "/api/v1/accounts/confirm-email"),
    ("POST", "/api/v1/accounts/resend-confirmation"),
    ("POST", "/api/v1/sessions"),
    ("POST", "/api/v1/password-reset"),
    ("POST", "/api/v1/password-reset/confirm"),
}
PUBLIC_READ_PREFIXES = ("/api/v1/application-types", "/api/v1/forms")


# Filling in a standard form needs no login either (nothing is stored).
PUBLIC_POST = re.compile(r"^/api/v1/forms/[^/]+/fill$")


def is_public(method: str, path: str) -> bool:
    path = path.rstrip("/")
    if (method, path) in PUBLIC or (method == "POST" and PUBLIC_POST.match(path)):
        return True
    return method in ("GET", "HEAD") and path.startswith(PUBLIC_READ_PREFIXES)


def service_for(path: str) -> str | None:
    """The service that owns ``/api/v1/<segment>/…``."""
    parts = path.removeprefix("/api/v1/").split("/")
    if len(parts) >= 3 and parts[0] == "applications" and parts[2] in CHAT_RESOURCES:
        return "chat"  # /applications/{id}/messages… belongs to the chat service
    return ROUTES.get("/".join(parts[:2])) or ROUTES.get(parts[0])


class ServiceClient:
    """One pooled HTTP client for every internal call of the gateway."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.http = httpx.AsyncClient(
            timeout=httpx.Timeout(30.0, connect=2.0),
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=100),
        )

    async def close(self) -> None:
        await self.http.aclose()

    def url(self, service: str, path: str) -> str:
        return self.settings.url_of(service) + path

    async def call(self, method: str, service: str, path: str, **kwargs: Any) -> httpx.Response:
        """A buffered internal call (pages use it); raises httpx.TransportError when down."""
        return await self.http.request(method, self.url(service, path), **kwargs)

    async def forward(self, request: Request, service: str) -> Response:
        """Forward ``request`` as it is to ``service`` and stream the answer back."""
        headers = [
            (k, v)
            for k, v in request.headers.items()
            if k.lower() not in _HOP_BY_HOP and k.lower() not in ("x-forwarded-for", "x-forwarded-proto")
        ]
        # The gateway is the edge: what a client claims about its address is dropped.
        headers.append(("x-forwarded-for", request.client.host if request.client else ""))
        headers.append(("x-forwarded-proto", request.url.scheme))
        if request.headers.get("content-length", "").isdigit():
            # Let the service refuse an oversized upload before reading it.
            headers.append(("content-length", request.headers["content-length"]))
        url = self.url(service, request.url.path)
        if request.url.query:
            url += "?" + request.url.query
        has_body = "content-length" in request.headers or "transfer-encoding" in request.headers
        outgoing = self.http.build_request(
            request.method, url, headers=headers, content=request.stream() if has_body else None
        )
        try:
            upstream = await self.http.send(outgoing, stream=True)
        except httpx.TransportError:
            return JSONResponse(UNAVAILABLE, 503)
        length = upstream.headers.get("content-length", "")
        response: Response
        if length.isdigit() and int(length) <= BUFFER_MAX:
            # Small answers (JSON) are read whole: cheaper than streaming a few hundred bytes.
            try:
                body = await upstream.aread()
            except httpx.TransportError:
                return JSONResponse(UNAVAILABLE, 503)
            finally:
                await upstream.aclose()
            response = Response(body, status_code=upstream.status_code)
        else:
            response = StreamingResponse(
                upstream.aiter_raw(1024 * 1024),  # fewer, larger sends for downloads
                status_code=upstream.status_code,
                background=BackgroundTask(upstream.aclose),
            )
        # Keep every upstream header (several Set-Cookie included), minus hop-by-hop ones.
        response.raw_headers = [
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in upstream.headers.multi_items()
            if k.lower() not in _RESPONSE_DROP
        ]
        return response
