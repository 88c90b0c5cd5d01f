"""Link tokens (HMAC) of services/identity/tokens.py; access tokens (JWT) it issues and
shared/auth.py reads."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from services.identity.tokens import (
    CONFIRM,
    RESET,
    Links,
    issue_access_token,
    link_token,
    parse_link_token,
)
from shared.auth import TokenClaims, read_token

SECRET = "s" * 32
OTHER = "o" * 32


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _parts(token: str) -> tuple[bytes, bytes]:
    payload, mac = token.split(".")
    return (
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)),
        base64.urlsafe_b64decode(mac + "=" * (-len(mac) % 4)),
    )


@pytest.fixture
def ident() -> tuple[uuid.UUID, str]:
    return uuid.uuid4(), secrets.token_hex(16)


def test_confirmation_token_round_trip(ident: tuple[uuid.UUID, str]) -> None:
    token = Links(SECRET).confirm(*ident)
    assert parse_link_token(SECRET, CONFIRM, token) == ident


def test_confirmation_tokens_differ_per_nonce_and_account(ident: tuple[uuid.UUID, str]) -> None:
    account_id, nonce = ident
    token = Links(SECRET).confirm(account_id, nonce)
    assert token != Links(SECRET).confirm(account_id, secrets.token_hex(16))
    assert token != Links(SECRET).confirm(uuid.uuid4(), nonce)


def test_tampered_mac_is_refused(ident: tuple[uuid.UUID, str]) -> None:
    payload, mac = _parts(Links(SECRET).confirm(*ident))
    flipped = bytes([mac[0] ^ 1]) + mac[1:]
    assert parse_link_token(SECRET, CONFIRM, f"{_b64(payload)}.{_b64(flipped)}") is None


def test_tampered_payload_is_refused(ident: tuple[uuid.UUID, str]) -> None:
    payload, mac = _parts(Links(SECRET).confirm(*ident))
    other_account = uuid.uuid4().bytes + payload[16:]
    assert parse_link_token(SECRET, CONFIRM, f"{_b64(other_account)}.{_b64(mac)}") is None


def test_link_token_is_bound_to_its_purpose(ident: tuple[uuid.UUID, str]) -> None:
    confirm = Links(SECRET).confirm(*ident)
    reset = link_token(SECRET, RESET, *ident)
    assert confirm == link_token(SECRET, CONFIRM, *ident)
    assert parse_link_token(SECRET, RESET, reset) == ident
    assert parse_link_token(SECRET, RESET, confirm) is None
    assert parse_link_token(SECRET, CONFIRM, reset) is None


def test_wrong_secret_is_refused(ident: tuple[uuid.UUID, str]) -> None:
    assert parse_link_token(OTHER, CONFIRM, Links(SECRET).confirm(*ident)) is None


@pytest.mark.parametrize(
    "garbage",
    ["", ".", "abc", "no-dot-at-all", "!!!.???", "кириллица.токен", "a.b.c", "====.====", "\x00.\x00"],
)
def test_garbage_is_refused(garbage: str) -> None:
    assert parse_link_token(SECRET, CONFIRM, garbage) is None


@pytest.mark.parametrize("size", [0, 16, 31, 33, 48])
def test_wrong_payload_length_is_refused(size: int) -> None:
    """A correctly signed payload of the wrong length is still refused."""
    payload = secrets.token_bytes(size)
    mac = hmac.new(SECRET.encode(), b"confirm-email:" + payload, hashlib.sha256).digest()[:18]
    assert parse_link_token(SECRET, CONFIRM, f"{_b64(payload)}.{_b64(mac)}") is None


def _access(secret: str = SECRET, expires_in: float = 3600, position: int = 7) -> tuple[uuid.UUID, str]:
    account_id = uuid.uuid4()
    expires_at = datetime.now(UTC) + timedelta(seconds=expires_in)
    return account_id, issue_access_token(secret, account_id, "sid-1", expires_at, position)


def test_access_token_round_trip() -> None:
    account_id, token = _access(position=42)
    assert read_token(SECRET, token) == TokenClaims(str(account_id), "sid-1", 42)


def test_expired_access_token_is_refused() -> None:
    assert read_token(SECRET, _access(expires_in=-10)[1]) is None


def test_access_token_with_wrong_secret_is_refused() -> None:
    assert read_token(OTHER, _access()[1]) is None


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "Bearer x"])
def test_garbage_access_token_is_refused(garbage: str) -> None:
    assert read_token(SECRET, garbage) is None


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": str(uuid.uuid4()), "exp": 2**40},  # no session
        {"sid": "s", "exp": 2**40},  # no account
        {"sub": str(uuid.uuid4()), "sid": "s"},  # no expiry
        {"sub": "not-a-uuid", "sid": "s", "exp": 2**40},
    ],
)
def test_access_token_with_bad_claims_is_refused(claims: dict[str, object]) -> None:
    assert read_token(SECRET, jwt.encode(claims, SECRET, algorithm="HS256")) is None


def test_access_token_with_alg_none_is_refused() -> None:
    token = jwt.encode({"sub": str(uuid.uuid4()), "sid": "s", "exp": 2**40}, None, algorithm="none")
    assert read_token(SECRET, token) is None
