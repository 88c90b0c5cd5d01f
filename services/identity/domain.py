"""Identity's write model: the Account aggregate and the e-mail uniqueness index.

An account's id is derived from its login, and an EmailOwner aggregate's id from the
e-mail: both are created in one atomic save, so two registrations with the same login
or e-mail cannot both succeed, however they race.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from eventsourcing.domain import Aggregate, event

_NS = uuid.UUID("0b7f4a52-55a6-4a0c-8c1e-3e6f6b7c9d21")

CONSUMER = "consumer"
STAFF = "staff"
ACCOUNT_TYPES = {CONSUMER: "Потребитель", STAFF: "Сотрудник сетевой организации"}


def normalise_login(login: str) -> str:
    return login.strip().casefold()


def normalise_email(email: str) -> str:
    return email.strip().casefold()


class Account(Aggregate):
    """A person's account: credentials, e-mail confirmation and open sessions."""

    @staticmethod
    def create_id(login: str) -> uuid.UUID:
        return uuid.uuid5(_NS, "login:" + normalise_login(login))

    @event("Registered")
    def __init__(
        self,
        *,
        login: str,
        email: str,
        password_hash: str,
        account_type: str,
        confirmation_nonce: str,
        confirmation_expires_at: datetime,
    ) -> None:
        self.login = login
        self.email = email
        self.password_hash = password_hash
        self.account_type = account_type
        self.email_confirmed = False
        self.confirmation_nonce: str | None = confirmation_nonce
        self.confirmation_expires_at = confirmation_expires_at
        self.first_name = ""
        self.last_name = ""
        self.sessions: dict[str, datetime] = {}

    @property
    def display_name(self) -> str:
        full = f"{self.first_name} {self.last_name}".strip()
        return full or self.login

    @property
    def roles(self) -> list[str]:
        return [self.account_type]

    # The address is part of the fact: the public event and its e-mail need it.
    @event("ConfirmationRequested")
    def request_confirmation(self, nonce: str, expires_at: datetime, email: str) -> None:
        self.confirmation_nonce = nonce
        self.confirmation_expires_at = expires_at

    @event("EmailConfirmed")
    def confirm_email(self, email: str) -> None:
        self.email_confirmed = True
        self.confirmation_nonce = None

    @event("SessionStarted")
    def start_session(self, session_id: str, expires_at: datetime) -> None:
        self.sessions[session_id] = expires_at

    @event("SessionEnded")
    def end_session(self, session_id: str) -> None:
        self.sessions.pop(session_id, None)

    def has_session(self, session_id: str, now: datetime) -> bool:
        expires_at = self.sessions.get(session_id)
        return expires_at is not None and expires_at > now

    def expired_sessions(self, now: datetime) -> list[str]:
        return [sid for sid, until in self.sessions.items() if until <= now]


class EmailOwner(Aggregate):
    """Reserves one e-mail address for one account."""

    @staticmethod
    def create_id(email: str) -> uuid.UUID:
        return uuid.uuid5(_NS, "email:" + normalise_email(email))

    @event("Reserved")
    def __init__(self, *, email: str, account_id: uuid.UUID) -> None:
        self.email = email
        self.account_id = account_id


def public_fields(account: Account) -> dict[str, Any]:
    """What ``GET /me`` shows of an account."""
    return {
        "id": str(account.id),
        "login": account.login,
        "email": account.email,
        "account_type": account.account_type,
        "account_type_title": ACCOUNT_TYPES[account.account_type],
        "roles": account.roles,
        "first_name": account.first_name,
        "last_name": account.last_name,
        "display_name": account.display_name,
        "email_confirmed": account.email_confirmed,
    }
