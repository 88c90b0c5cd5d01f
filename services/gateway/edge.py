"""The edge: every request from outside passes here once, before any routing or auth.

It decides on the request as the services will see it, so no later step can read it
differently:
- **the path** must already be normal: no dot segments, no empty segments, no encoded
  slash or backslash, no control characters, nothing percent-encoded at all (no route of
  the platform needs it). Anything else answers 400 before routing, so a public prefix
  can never be joined to a private path by a later normalisation;
- **the client** is the socket's peer, unless the peer is a configured trusted proxy
  (``LK_TRUSTED_PROXIES``, e.g. a TLS terminator), whose ``X-Forwarded-For`` /
  ``X-Forwarded-Proto`` are then believed. Whatever a client sent in those headers (and
  in ``X-LK-Edge``) is dropped; the edge writes its own, with the proof of
  :mod:`shared.edge`, so services believe them;
- the body size is then limited per route by :class:`shared.http.BodyLimit` (the routing
  table says how much each route takes).
"""

from __future__ import annotations

import hmac
import ipaddress
import re

from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.edge import EDGE_HEADER, EDGE_OWNED, edge_headers, edge_key
from shared.http import error_body
from shared.settings import Settings

# Unreserved and sub-delimiter characters of RFC 3986 plus ":" and "@": a path of these
# needs no decoding and means the same to every parser downstream.
_OWNED = frozenset(name.encode() for name in EDGE_OWNED)  # ASGI header names: lower-case bytes
_SAFE_PATH = re.compile(r"^/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]+/?)*$")


def normal_path(raw: bytes) -> str | None:
    """The path if it is already in normal form, else None (the request is refused)."""
    try:
        path = raw.decode("ascii")
    except UnicodeDecodeError:
        return None
    if path == "/":
        return path
    if not _SAFE_PATH.match(path):
        return None  # "%", "\\", control characters, "//"
    segments = path.split("/")[1:]
    if segments and segments[-1] == "":
        segments = segments[:-1]
    if any(s in (".", "..") for s in segments):
        return None
    return path


def bad_path_response(path_hint: str) -> Response:
    """400 for a path the edge will not interpret: JSON for the API, a page otherwise."""
    if path_hint.startswith("/api/"):
        return JSONResponse(
            error_body("bad_path", "Некорректный адрес запроса."),
            400,
            headers={"cache-control": "no-store", "x-content-type-options": "nosniff"},
        )
    return HTMLResponse(
        "<!doctype html><html lang=ru><meta charset=utf-8><title>Некорректный адрес — Личный кабинет ТП"
        "</title><h1>Некорректный адрес</h1><p>Такой страницы нет. <a href=/>На главную</a></p></html>",
        400,
    )


class _Trusted:
    """The configured trusted proxies (addresses or networks)."""

    def __init__(self, entries: list[str]) -> None:
        self.networks = [ipaddress.ip_network(e.strip(), strict=False) for e in entries if e.strip()]

    def __contains__(self, address: str) -> bool:
        if not self.networks:
            return False  # none configured (the default): no address to parse
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self.networks)


def client_of(scope: Scope, trusted: _Trusted) -> tuple[str, str]:
    """(address, scheme) of the client. Behind trusted proxies, the right-most address of
    ``X-Forwarded-For`` that is not a trusted proxy itself (the left ones a client can forge)."""
    peer = scope["client"][0] if scope.get("client") else ""
    scheme = "https" if scope.get("scheme") in ("https", "wss") else "http"
    if peer not in trusted:
        return peer, scheme
    headers = dict(scope.get("headers", ()))
    chain = [
        a.strip() for a in headers.get(b"x-forwarded-for", b"").decode("latin-1").split(",") if a.strip()
    ]
    address = peer
    for hop in reversed(chain):
        address = hop
        if hop not in trusted:
            break
    proto = headers.get(b"x-forwarded-proto", b"").decode("latin-1").strip().lower()
    return address, proto if proto in ("http", "https") else scheme


def proven(headers: list[tuple[bytes, bytes]], secret: str) -> bool:
    """The request carries the edge's proof: the real stack's nginx in front of the gateway
    has already replaced what the client claimed with its own record (services.gateway.edge_config)."""
    claimed = [v for k, v in headers if k == EDGE_HEADER.encode()]
    return len(claimed) == 1 and hmac.compare_digest(claimed[0], edge_key(secret).encode())


class Edge:
    """ASGI middleware in front of everything the gateway serves."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.trusted = _Trusted(settings.trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        raw = scope.get("raw_path") or scope["path"].encode()
        path = normal_path(raw)
        if path is None:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            response = bad_path_response(scope["path"])
            response.headers["connection"] = "close"  # the body, if any, is not read
            await response(scope, receive, send)
            return
        headers = list(scope.get("headers", ()))
        if not proven(headers, self.settings.secret()):  # else nginx in front has decided
            address, scheme = client_of(scope, self.trusted)
            headers = [(k, v) for k, v in headers if k not in _OWNED]
            headers += [
                (k.encode(), v.encode("latin-1", "replace"))
                for k, v in edge_headers(self.settings.secret(), address, scheme).items()
            ]
        await self.app({**scope, "path": path, "raw_path": raw, "headers": headers}, receive, send)
