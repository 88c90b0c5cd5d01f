"""Link tokens for e-mails (HMAC-signed, single use) and access tokens (JWT, HS256).

A link token is ``base64url(account id + nonce) . base64url(mac)``, the MAC bound to a
purpose ("confirm-email" or "reset-password"), so a confirmation link can never reset a
password. Only the nonce is stored in the account's events; the token is derived from it
with the service's secret, so identity's relay can put it in the public event for the
notifier while the event store alone never holds a usable link.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import jwt

from shared.auth import ALGORITHM

CONFIRM = "confirm-email"
RESET = "reset-password"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, purpose: str, payload: bytes) -> bytes:
    return hmac.new(secret.encode(), purpose.encode() + b":" + payload, hashlib.sha256).digest()[:18]


def link_token(secret: str, purpose: str, account_id: uuid.UUID, nonce: str) -> str:
    payload = account_id.bytes + bytes.fromhex(nonce)
    return f"{_b64(payload)}.{_b64(_mac(secret, purpose, payload))}"


def parse_link_token(secret: str, purpose: str, token: str) -> tuple[uuid.UUID, str] | None:
    """(account id, nonce) of a well-formed, genuine token for ``purpose``; None otherwise."""
    try:
        payload_text, mac_text = token.split(".", 1)
        payload, mac = _unb64(payload_text), _unb64(mac_text)
    except (ValueError, binascii.Error):
        return None
    if len(payload) != 32 or not hmac.compare_digest(mac, _mac(secret, purpose, payload)):
        return None
    return uuid.UUID(bytes=payload[:16]), payload[16:].hex()


@dataclass(frozen=True)
class Links:
    """The link tokens of identity's e-mails, derived with the service secret. ``None``: a
    map that only declares what it publishes (``public.EVENTS``) and derives nothing."""

    secret: str | None

    def token(self, purpose: str, account_id: uuid.UUID, nonce: str) -> str:
        if self.secret is None:
            raise LookupError("no secret: the relay's map is public.make_mapper(app)")
        return link_token(self.secret, purpose, account_id, nonce)

    def confirm(self, account_id: uuid.UUID, nonce: str) -> str:
        return self.token(CONFIRM, account_id, nonce)

    def reset(self, account_id: uuid.UUID, nonce: str) -> str:
        return self.token(RESET, account_id, nonce)


def issue_access_token(
    secret: str,
    account_id: uuid.UUID,
    session_id: str,
    expires_at: datetime,
    position: int,
    sequence: int = 0,
) -> str:
    """A bearer token for an open session. ``pos`` is where its SessionStarted event stands
    in identity's log and ``seq`` the account's version after it, so other services can
    wait for their registry to see the login (read-your-writes)."""
    return jwt.encode(
        {
            "sub": str(account_id),
            "sid": session_id,
            "exp": expires_at,
            "iat": datetime.now(UTC),
            "pos": position,
            "seq": sequence,
        },
        secret,
        algorithm=ALGORITHM,
    )
