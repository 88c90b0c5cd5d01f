"""What a service may believe about who is calling: the edge's word, and only the edge's.

Every request from outside enters through the edge (the gateway, or a reverse proxy in
front of it). The edge records the peer address and scheme it saw in ``X-Forwarded-For``
and ``X-Forwarded-Proto`` and proves that it set them with ``X-LK-Edge``, a key derived
from the platform secret that no client knows. A service believes the forwarded headers
only when that proof is present; anything else (a client that reaches a service port
directly, a header a browser added) is ignored and the socket's own peer is used.

Uvicorn's own ``X-Forwarded-*`` handling is switched off everywhere (``proxy_headers=False``):
it trusts any loopback peer, which on one host is every client.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from starlette.requests import HTTPConnection

EDGE_HEADER = "x-lk-edge"
FORWARDED_FOR = "x-forwarded-for"
FORWARDED_PROTO = "x-forwarded-proto"
# Sent by the real stack's nginx only (its own proof): the files service may then answer a
# download with an internal redirect that nginx follows to the S3 server.
ACCEL_HEADER = "x-lk-accel"
ACCEL_S3 = "/_lk/s3/"  # nginx's internal location that proxies to the S3 server (the rest: a presigned URL)
# Headers a client must never get through to a service: the edge drops them and sets its own.
EDGE_OWNED = frozenset({EDGE_HEADER, FORWARDED_FOR, FORWARDED_PROTO, "forwarded", "x-real-ip", ACCEL_HEADER})

# How long nginx keeps an idle connection to a service (its upstream ``keepalive_timeout``).
# The services keep theirs open longer (``lk serve``: 15 s more), so it is always nginx that
# closes an idle one: a service closing it just as nginx sends a request on it is a 502 for a
# POST, which nginx does not retry (uvicorn's default is 5 s, nginx's 60 s: that race).
UPSTREAM_IDLE = 60


@lru_cache(maxsize=8)
def edge_key(secret: str) -> str:
    """The edge's proof, derived from the platform secret (stable across processes)."""
    return hmac.new(secret.encode(), b"lk-edge-v1", hashlib.sha256).hexdigest()


@lru_cache(maxsize=8)
def accel_key(secret: str) -> str:
    """nginx's proof that it follows ``X-Accel-Redirect`` (a key of its own: the Python edge
    proves with :func:`edge_key` and never sends this one)."""
    return hmac.new(secret.encode(), b"lk-accel-v1", hashlib.sha256).hexdigest()


def through_accel(conn: HTTPConnection) -> bool:
    """Did the real stack's nginx send this request (so it follows an internal redirect)?"""
    claimed = conn.headers.get(ACCEL_HEADER, "")
    secret: str = conn.app.state.settings.secret()
    return bool(claimed) and hmac.compare_digest(claimed.encode(), accel_key(secret).encode())


def edge_headers(secret: str, address: str, scheme: str) -> dict[str, str]:
    """What the edge adds to every request it passes to a service."""
    return {EDGE_HEADER: edge_key(secret), FORWARDED_FOR: address, FORWARDED_PROTO: scheme}


def from_edge(conn: HTTPConnection) -> bool:
    """Did the edge itself send this request (the proof matches, in constant time)?"""
    claimed = conn.headers.get(EDGE_HEADER, "")
    secret: str = conn.app.state.settings.secret()
    return bool(claimed) and hmac.compare_digest(claimed.encode(), edge_key(secret).encode())


def peer_address(conn: HTTPConnection) -> str:
    """The address of the socket's other end."""
    return conn.client.host if conn.client else ""


def client_address(conn: HTTPConnection) -> str:
    """The caller's address: the edge's record of it, else the socket's peer."""
    if from_edge(conn):
        forwarded = conn.headers.get(FORWARDED_FOR, "").split(",")[0].strip()
        if forwarded:
            return forwarded
    return peer_address(conn)


def client_scheme(conn: HTTPConnection) -> str:
    """``https`` when the edge says the client came over TLS; the socket's scheme otherwise."""
    if from_edge(conn) and conn.headers.get(FORWARDED_PROTO) in ("http", "https"):
        return conn.headers[FORWARDED_PROTO]
    return conn.url.scheme
