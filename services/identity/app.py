"""Identity's command side: one eventsourcing Application per process.

The library is synchronous; the API calls these methods from a worker thread.
Every rule is checked here, before an event is triggered: events are facts.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from services.identity.domain import CONSUMER, Account, EmailOwner, normalise_email
from services.identity.passwords import check_policy, hash_password, verify_password
from services.identity.tokens import (
    confirmation_token,
    issue_access_token,
    parse_confirmation_token,
    read_access_token,
)
from shared.http import ApiError
from shared.settings import Settings

_BAD_TOKEN = ApiError(400, "invalid_token", "Ссылка недействительна или устарела. Запросите новую.")
_BAD_CREDENTIALS = ApiError(401, "invalid_credentials", "Неверный логин или пароль.")
_NOT_AUTHENTICATED = ApiError(401, "not_authenticated", "Требуется вход в личный кабинет.")


def _now() -> datetime:
    return datetime.now(UTC)


class IdentityApp(Application[uuid.UUID]):
    name = "identity"
    snapshotting_intervals = {Account: 50}  # noqa: RUF012 - the library's class attribute

    def __init__(self, settings: Settings, env: dict[str, str] | None = None) -> None:
        super().__init__(
            {**settings.eventstore_env("identity"), "AGGREGATE_CACHE_MAXSIZE": "2000", **(env or {})}
        )
        self.settings = settings
        self.on_saved: Callable[[], None] = lambda: None

    # helpers ------------------------------------------------------------------
    def _commit(self, *aggregates: Any) -> int:
        recordings = self.save(*aggregates)
        self.on_saved()
        return max((r.notification.id for r in recordings), default=0)

    def _get(self, account_id: uuid.UUID) -> Account | None:
        try:
            account: Any = self.repository.get(account_id)
        except AggregateNotFoundError:
            return None
        return account if isinstance(account, Account) else None

    def token_for(self, account_id: uuid.UUID, nonce: str) -> str:
        return confirmation_token(self.settings.secret(), account_id, nonce)

    # commands -----------------------------------------------------------------
    def register(self, *, login: str, email: str, password: str, account_type: str) -> Account:
        """Create a consumer account and ask for e-mail confirmation."""
        if account_type != CONSUMER:
            raise ApiError(
                422,
                "account_type_not_allowed",
                "Самостоятельно можно зарегистрироваться только как «Потребитель».",
            )
        check_policy(password, login, email)
        account_id = Account.create_id(login)
        if self._get(account_id) is not None:
            raise ApiError(409, "login_taken", "Этот логин уже занят.")
        email_id = EmailOwner.create_id(email)
        if email_id in self.repository:
            raise ApiError(409, "email_taken", "Этот адрес e-mail уже зарегистрирован.")
        account = Account(
            login=login,
            email=email,
            password_hash=hash_password(password),
            account_type=account_type,
            confirmation_nonce=secrets.token_hex(16),
            confirmation_expires_at=_now() + timedelta(seconds=self.settings.confirmation_ttl),
        )
        owner = EmailOwner(email=normalise_email(email), account_id=account.id)
        try:
            self._commit(account, owner)
        except IntegrityError:
            # Lost a race with an identical registration: report what is taken now.
            if self._get(account_id) is not None:
                raise ApiError(409, "login_taken", "Этот логин уже занят.") from None
            raise ApiError(409, "email_taken", "Этот адрес e-mail уже зарегистрирован.") from None
        return account

    def confirm_email(self, token: str) -> Account:
        parsed = parse_confirmation_token(self.settings.secret(), token)
        if parsed is None:
            raise _BAD_TOKEN
        account = self._get(parsed[0])
        if account is None:
            raise _BAD_TOKEN
        if account.email_confirmed:
            raise ApiError(
                409, "already_confirmed", "Адрес e-mail уже подтверждён. Войдите в личный кабинет."
            )
        if account.confirmation_nonce != parsed[1] or account.confirmation_expires_at <= _now():
            raise _BAD_TOKEN
        account.confirm_email(email=account.email)
        self._commit(account)
        return account

    def resend_confirmation(self, email: str) -> None:
        """Send a new link; silently does nothing for unknown or confirmed addresses,
        so the answer never tells whether an address is registered."""
        email_id = EmailOwner.create_id(email)
        try:
            owner: Any = self.repository.get(email_id)
        except AggregateNotFoundError:
            return
        account = self._get(owner.account_id)
        if account is None or account.email_confirmed:
            return
        account.request_confirmation(
            nonce=secrets.token_hex(16),
            expires_at=_now() + timedelta(seconds=self.settings.confirmation_ttl),
            email=account.email,
        )
        self._commit(account)

    def log_in(self, login: str, password: str) -> tuple[str, int, Account]:
        """Check the credentials and open a session; returns (token, ttl, account)."""
        account = self._get(Account.create_id(login)) if login.strip() else None
        ok = verify_password(account.password_hash if account else None, password)
        if account is None or not ok:
            raise _BAD_CREDENTIALS
        if not account.email_confirmed:
            raise ApiError(
                403,
                "email_not_confirmed",
                "Адрес e-mail не подтверждён. Перейдите по ссылке из письма или запросите новую.",
            )
        for stale in account.expired_sessions(_now()):
            account.end_session(session_id=stale)
        session_id = secrets.token_hex(16)
        ttl = self.settings.access_token_ttl
        token, expires_at = issue_access_token(self.settings.secret(), account.id, session_id, ttl)
        account.start_session(session_id=session_id, expires_at=expires_at)
        self._commit(account)
        return token, ttl, account

    def authenticate(self, token: str) -> tuple[Account, str]:
        """The account and session of a valid bearer token; 401 otherwise."""
        claims = read_access_token(self.settings.secret(), token)
        if claims is None:
            raise _NOT_AUTHENTICATED
        account = self._get(claims[0])
        if account is None or not account.has_session(claims[1], _now()):
            raise _NOT_AUTHENTICATED
        return account, claims[1]

    def log_out(self, account: Account, session_id: str) -> None:
        account.end_session(session_id=session_id)
        self._commit(account)
