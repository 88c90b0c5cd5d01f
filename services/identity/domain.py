"""Identity's write model: the Account aggregate and the e-mail uniqueness index.

An account's id is derived from its login, and an EmailOwner aggregate's id from the
e-mail: both are created in one atomic save, so two registrations with the same login
or e-mail cannot both succeed, however they race.

Every event carries ``audit``: who did it (account id, "self", "cli") and from where
(address, user agent). The event store is the account's audit log.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from eventsourcing.domain import Aggregate, event

_NS = uuid.UUID("0b7f4a52-55a6-4a0c-8c1e-3e6f6b7c9d21")

CONSUMER = "consumer"
STAFF = "staff"
ADMIN = "admin"
ACCOUNT_TYPES = {CONSUMER: "Потребитель", STAFF: "Сотрудник сетевой организации"}

Audit = dict[str, str]


def normalise_login(login: str) -> str:
    return login.strip().casefold()


def normalise_email(email: str) -> str:
    return email.strip().casefold()


class Account(Aggregate):
    """A person's account: credentials, e-mail confirmation, profile and open sessions."""

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
        roles: list[str],
        confirmation_nonce: str | None,
        confirmation_expires_at: datetime | None,
        audit: Audit,
    ) -> None:
        self.login = login
        self.email = email
        self.password_hash = password_hash
        self.account_type = account_type
        self.roles = list(roles)
        self.email_confirmed = False
        self.confirmation_nonce = confirmation_nonce
        self.confirmation_expires_at = confirmation_expires_at
        self.reset_nonce: str | None = None
        self.reset_expires_at: datetime | None = None
        self.first_name = ""
        self.last_name = ""
        self.sessions: dict[str, datetime] = {}

    @property
    def display_name(self) -> str:
        return self.display_name_for(self.first_name, self.last_name)

    def display_name_for(self, first_name: str, last_name: str) -> str:
        """«Имя Фамилия» once set, the login before that."""
        full = f"{first_name} {last_name}".strip()
        return full or self.login

    # The address is part of each fact below: the public event and its e-mail need it.
    @event("ConfirmationRequested")
    def request_confirmation(self, nonce: str, expires_at: datetime, email: str, audit: Audit) -> None:
        self.confirmation_nonce = nonce
        self.confirmation_expires_at = expires_at

    @event("EmailConfirmed")
    def confirm_email(self, email: str, audit: Audit) -> None:
        self.email_confirmed = True
        self.confirmation_nonce = None

    # Type and roles ride along so every service's session registry knows them.
    @event("SessionStarted")
    def start_session(
        self, session_id: str, expires_at: datetime, account_type: str, roles: list[str], audit: Audit
    ) -> None:
        self.sessions[session_id] = expires_at

    @event("SessionEnded")
    def end_session(self, session_id: str, reason: str, audit: Audit) -> None:
        self.sessions.pop(session_id, None)

    @event("ProfileUpdated")
    def update_profile(self, first_name: str, last_name: str, display_name: str, audit: Audit) -> None:
        self.first_name = first_name
        self.last_name = last_name

    @event("PasswordResetRequested")
    def request_password_reset(
        self, nonce: str, expires_at: datetime, email: str, display_name: str, audit: Audit
    ) -> None:
        self.reset_nonce = nonce
        self.reset_expires_at = expires_at

    @event("PasswordChanged")
    def change_password(
        self, password_hash: str, by_reset: bool, email: str, display_name: str, audit: Audit
    ) -> None:
        self.password_hash = password_hash
        self.reset_nonce = None
        if by_reset:
            # Following the e-mailed link proves the address too.
            self.email_confirmed = True
            self.confirmation_nonce = None

    def has_session(self, session_id: str, now: datetime) -> bool:
        expires_at = self.sessions.get(session_id)
        return expires_at is not None and expires_at > now

    def expired_sessions(self, now: datetime) -> list[str]:
        return [sid for sid, until in self.sessions.items() if until <= now]

    def end_sessions(self, reason: str, audit: Audit, keep: str | None = None) -> None:
        """End every open session but ``keep``; one event each, so every service sees it."""
        for session_id in [sid for sid in self.sessions if sid != keep]:
            self.end_session(session_id=session_id, reason=reason, audit=audit)


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
        "roles": list(account.roles),
        "first_name": account.first_name,
        "last_name": account.last_name,
        "display_name": account.display_name,
        "email_confirmed": account.email_confirmed,
    }
