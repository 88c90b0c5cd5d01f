"""Confirmation tokens (HMAC) and access tokens (JWT) of services/identity/tokens.py."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid

import jwt
import pytest

from services.identity.tokens import (
    confirmation_token,
    issue_access_token,
    parse_confirmation_token,
    read_access_token,
)

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
    token = confirmation_token(SECRET, *ident)
    assert parse_confirmation_token(SECRET, token) == ident


def test_confirmation_tokens_differ_per_nonce_and_account(ident: tuple[uuid.UUID, str]) -> None:
    account_id, nonce = ident
    token = confirmation_token(SECRET, account_id, nonce)
    assert token != confirmation_token(SECRET, account_id, secrets.token_hex(16))
    assert token != confirmation_token(SECRET, uuid.uuid4(), nonce)


def test_tampered_mac_is_refused(ident: tuple[uuid.UUID, str]) -> None:
    payload, mac = _parts(confirmation_token(SECRET, *ident))
    flipped = bytes([mac[0] ^ 1]) + mac[1:]
    assert parse_confirmation_token(SECRET, f"{_b64(payload)}.{_b64(flipped)}") is None


def test_tampered_payload_is_refused(ident: tuple[uuid.UUID, str]) -> None:
    payload, mac = _parts(confirmation_token(SECRET, *ident))
    other_account = uuid.uuid4().bytes + payload[16:]
    assert parse_confirmation_token(SECRET, f"{_b64(other_account)}.{_b64(mac)}") is None


def test_wrong_secret_is_refused(ident: tuple[uuid.UUID, str]) -> None:
    assert parse_confirmation_token(OTHER, confirmation_token(SECRET, *ident)) is None


@pytest.mark.parametrize(
    "garbage",
    ["", ".", "abc", "no-dot-at-all", "!!!.???", "кириллица.токен", "a.b.c", "====.====", "\x00.\x00"],
)
def test_garbage_is_refused(garbage: str) -> None:
    assert parse_confirmation_token(SECRET, garbage) is None


@pytest.mark.parametrize("size", [0, 16, 31, 33, 48])
def test_wrong_payload_length_is_refused(size: int) -> None:
    """A correctly signed payload of the wrong length is still refused."""
    payload = secrets.token_bytes(size)
    mac = hmac.new(SECRET.encode(), b"confirm-email:" + payload, hashlib.sha256).digest()[:18]
    assert parse_confirmation_token(SECRET, f"{_b64(payload)}.{_b64(mac)}") is None


def test_access_token_round_trip() -> None:
    account_id = uuid.uuid4()
    token, expires_at = issue_access_token(SECRET, account_id, "sid-1", 3600)
    assert read_access_token(SECRET, token) == (account_id, "sid-1")
    assert expires_at.tzinfo is not None


def test_expired_access_token_is_refused() -> None:
    token, _ = issue_access_token(SECRET, uuid.uuid4(), "sid-1", -10)
    assert read_access_token(SECRET, token) is None


def test_access_token_with_wrong_secret_is_refused() -> None:
    token, _ = issue_access_token(SECRET, uuid.uuid4(), "sid-1", 3600)
    assert read_access_token(OTHER, token) is None


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "Bearer x"])
def test_garbage_access_token_is_refused(garbage: str) -> None:
    assert read_access_token(SECRET, garbage) is None


def test_access_token_without_session_claim_is_refused() -> None:
    token = jwt.encode({"sub": str(uuid.uuid4()), "exp": 2**40}, SECRET, algorithm="HS256")
    assert read_access_token(SECRET, token) is None


def test_access_token_with_alg_none_is_refused() -> None:
    token = jwt.encode({"sub": str(uuid.uuid4()), "sid": "s", "exp": 2**40}, None, algorithm="none")
    assert read_access_token(SECRET, token) is None
