"""Access tokens (JWT, HS256) and e-mail confirmation tokens (HMAC-signed, single use).

A confirmation token is ``base64url(account id + nonce) . base64url(mac)``. Only the
nonce is stored in the account's events; the token is derived from it with the
service's secret, so the relay can put it in the public event for the notifier while
the event store never holds a usable link on its own.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import uuid
from datetime import UTC, datetime, timedelta

import jwt

_ALGORITHM = "HS256"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def confirmation_token(secret: str, account_id: uuid.UUID, nonce: str) -> str:
    payload = account_id.bytes + bytes.fromhex(nonce)
    mac = hmac.new(secret.encode(), b"confirm-email:" + payload, hashlib.sha256).digest()[:18]
    return f"{_b64(payload)}.{_b64(mac)}"


def parse_confirmation_token(secret: str, token: str) -> tuple[uuid.UUID, str] | None:
    """(account id, nonce) of a well-formed, genuine token; None otherwise."""
    try:
        payload_text, mac_text = token.split(".", 1)
        payload, mac = _unb64(payload_text), _unb64(mac_text)
    except (ValueError, binascii.Error):
        return None
    if len(payload) != 32:
        return None
    expected = hmac.new(secret.encode(), b"confirm-email:" + payload, hashlib.sha256).digest()[:18]
    if not hmac.compare_digest(mac, expected):
        return None
    return uuid.UUID(bytes=payload[:16]), payload[16:].hex()


def issue_access_token(secret: str, account_id: uuid.UUID, session_id: str, ttl: int) -> tuple[str, datetime]:
    expires_at = datetime.now(UTC) + timedelta(seconds=ttl)
    token = jwt.encode(
        {"sub": str(account_id), "sid": session_id, "exp": expires_at, "iat": datetime.now(UTC)},
        secret,
        algorithm=_ALGORITHM,
    )
    return token, expires_at


def read_access_token(secret: str, token: str) -> tuple[uuid.UUID, str] | None:
    """(account id, session id) of a genuine, unexpired token; None otherwise."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=[_ALGORITHM], options={"require": ["sub", "sid", "exp"]}
        )
        return uuid.UUID(claims["sub"]), str(claims["sid"])
    except (jwt.PyJWTError, ValueError):
        return None
