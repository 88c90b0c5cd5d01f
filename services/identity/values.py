"""The values of identity's domain: account types and roles, logins and e-mail addresses as
keys, people's names as data, and the audit every change carries."""

from __future__ import annotations

import unicodedata

from shared.errors import Invalid

CONSUMER = "consumer"
STAFF = "staff"
ADMIN = "admin"
ACCOUNT_TYPES = {CONSUMER: "Потребитель", STAFF: "Сотрудник сетевой организации"}
NAME_MAX = 100

Audit = dict[str, str]
"""Who did it (account id, "self", "cli") and from where (``ip``, ``user_agent``)."""


def by(actor: str, audit: Audit | None) -> Audit:
    """The audit of a change made by ``actor`` from where ``audit`` says."""
    return {"actor": actor, **(audit or {})}


def normalise_login(login: str) -> str:
    return login.strip().casefold()


def normalise_email(email: str) -> str:
    return email.strip().casefold()


def clean_name(value: str, field: str, limit: int = NAME_MAX) -> str:
    """A person's name as data: trimmed, bounded, no control characters (markup is kept
    verbatim and escaped wherever it is shown)."""
    value = value.strip()
    if len(value) > limit:
        raise Invalid("invalid_name", f"{field}: не длиннее {limit} символов.")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp") for ch in value):
        raise Invalid("invalid_name", f"{field}: недопустимые символы.")
    return value
