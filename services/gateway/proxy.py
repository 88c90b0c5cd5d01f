"""Forwards ``/api/v1/*`` to the owning service over HTTP, streaming both ways (the
routing table is :mod:`services.gateway.routes`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx
from fastapi import Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.background import BackgroundTask

from services.gateway.routes import SLOW
from shared.edge import EDGE_HEADER, FORWARDED_FOR, FORWARDED_PROTO
from shared.http import error_body
from shared.settings import Settings

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
# own server sets Date.
_RESPONSE_DROP = (_HOP_BY_HOP - {"content-length"}) | {"date", "server"}

UNAVAILABLE = error_body("service_unavailable", "Сервис временно недоступен, попробуйте через минуту.")


def edge_of(request: Request) -> dict[str, str]:
    """The edge's headers of ``request`` (set by :class:`~services.gateway.edge.Edge`), for
    the gateway's own calls on a browser's behalf."""
    return {
        k: request.headers[k] for k in (EDGE_HEADER, FORWARDED_FOR, FORWARDED_PROTO) if k in request.headers
    }


class _NoCookies(CookieJar):
    """The internal client is shared by every browser: it must never keep a cookie from
    one answer and send it with another user's request."""

    def __init__(self) -> None:
        super().__init__(policy=DefaultCookiePolicy(allowed_domains=[]))


class NotReady(Exception):
    """A service answered that it is not ready (its /health is not 200)."""


class ServiceClient:
    """One pooled HTTP client for every internal call of the gateway."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.http = httpx.AsyncClient(
            cookies=_NoCookies(),
            timeout=httpx.Timeout(30.0, connect=2.0),
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=100),
        )

    async def close(self) -> None:
        await self.http.aclose()

    def url(self, service: str, path: str) -> str:
        return self.settings.url_of(service) + path

    async def call(self, method: str, service: str, path: str, **kwargs: Any) -> httpx.Response:
        """A buffered internal call (pages use it); raises httpx.TransportError when down."""
        if "headers" in kwargs:  # a browser's values, as HTTP/1.1 allows them
            kwargs["headers"] = {k: v.strip() for k, v in kwargs["headers"].items()}
        return await self.http.request(method, self.url(service, path), **kwargs)

    def readiness(self, service: str) -> Callable[[], Awaitable[None]]:
        """A probe of ``service``'s readiness: it raises unless ``/health`` answers 200."""

        async def probe() -> None:
            answer = await self.call("GET", service, "/health", timeout=3.0)
            if answer.status_code != 200:
                raise NotReady(f"{service}: {answer.status_code}")

        return probe

    async def forward(self, request: Request, service: str) -> Response:
        """Forward ``request`` as it is to ``service`` and stream the answer back."""
        # The edge has already replaced whatever the client claimed about its address.
        # Values as HTTP/1.1 allows them (a lenient server may have taken "Bearer " with its blank).
        headers = [(k, v.strip()) for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP]
        if request.headers.get("content-length", "").isdigit():
            # Let the service refuse an oversized upload before reading it.
            headers.append(("content-length", request.headers["content-length"]))
        url = self.url(service, request.url.path)
        if request.url.query:
            url += "?" + request.url.query
        has_body = "content-length" in request.headers or "transfer-encoding" in request.headers
        try:
            outgoing = self.http.build_request(
                request.method,
                url,
                headers=headers,
                content=request.stream() if has_body else None,
                timeout=httpx.Timeout(SLOW.get(request.url.path, 30.0), connect=2.0),
            )
        except httpx.InvalidURL:  # the edge lets only normal paths in; a query can still be odd
            return JSONResponse(error_body("bad_request", "Некорректный запрос."), 400)
        try:
            upstream = await self.http.send(outgoing, stream=True)
        except httpx.LocalProtocolError:  # a header no HTTP/1.1 peer may be sent
            return JSONResponse(error_body("bad_request", "Некорректные заголовки запроса."), 400)
        except httpx.TransportError:
            return JSONResponse(UNAVAILABLE, 503, headers={"Retry-After": "5"})
        length = upstream.headers.get("content-length", "")
        response: Response
        if length.isdigit() and int(length) <= BUFFER_MAX:
            # Small answers (JSON) are read whole: cheaper than streaming a few hundred bytes.
            try:
                body = await upstream.aread()
            except httpx.TransportError:
                return JSONResponse(UNAVAILABLE, 503, headers={"Retry-After": "5"})
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
