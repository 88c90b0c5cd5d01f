"""The one-time code of the simple electronic signature (ПЭП): derived, never stored.

A code is ``HMAC(key, application id : challenge id)`` reduced to six digits (the dynamic
truncation of RFC 4226), where ``key`` is a sub-key of the platform secret under its own label.
The applications service recomputes it to check what the applicant typed; the notifier
computes it from the public ``SignatureCodeIssued.v1`` (which names the challenge only) and
mails it. Nothing in an event or a log lets one recover a code: without the secret, the
challenge id tells nothing of it (docs/security.md, docs/decisions.md record 20)."""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

LABEL = b"lk-signature-code-v1"
DIGITS = 6


@lru_cache(maxsize=8)
def signature_key(secret: str) -> bytes:
    """The sub-key of the codes, derived from the platform secret (stable across processes)."""
    return hmac.new(secret.encode(), LABEL, hashlib.sha256).digest()


def signature_code(key: bytes, application_id: str, challenge_id: str) -> str:
    """The six digits of one challenge of one application."""
    mac = hmac.new(key, f"{application_id}:{challenge_id}".encode(), hashlib.sha256).digest()
    offset = mac[-1] & 0x0F
    number = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return f"{number % 10**DIGITS:0{DIGITS}d}"


def normalized(given: str) -> str:
    """What the person typed, without the spaces and dashes a mail client may add."""
    return "".join(ch for ch in given if ch not in " -\u00a0\t")


def code_matches(key: bytes, application_id: str, challenge_id: str, given: str) -> bool:
    """Does ``given`` equal the challenge's code (compared in constant time)?"""
    expected = signature_code(key, application_id, challenge_id).encode()
    return hmac.compare_digest(expected, normalized(given).encode())
