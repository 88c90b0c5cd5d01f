"""Sessions: logging in (a JWT bound to a session recorded on the account), checking a
token against the account itself, logging out."""

from __future__ import annotations

import random
import secrets
import time
import uuid

from eventsourcing.persistence import IntegrityError

from services.identity.domain import Account, no_session
from services.identity.passwords import verify_password
from services.identity.tokens import issue_access_token
from services.identity.use_cases.base import IdentityBase
from services.identity.values import Audit, by
from shared.auth import read_token
from shared.errors import Unauthenticated

# Each contender for one account can lose once to each other one: allow plenty of rounds.
LOGIN_ATTEMPTS = 20


def bad_credentials() -> Unauthenticated:
    return Unauthenticated("invalid_credentials", "Неверный логин или пароль.")


class Sessions(IdentityBase):
    def log_in(self, login: str, password: str, audit: Audit | None = None) -> tuple[str, int, Account]:
        """Check the credentials and open a session; returns (token, ttl, account). An unknown
        login costs the same password check as a known one and gets the same refusal."""
        account = self.account(Account.create_id(login)) if login.strip() else None
        ok = verify_password(account.password_hash if account else None, password)
        if account is None or not ok:
            raise bad_credentials()
        audit = by(str(account.id), audit)
        verified_hash = account.password_hash
        ttl = self.settings.access_token_ttl
        for attempt in range(LOGIN_ATTEMPTS):
            session_id = secrets.token_hex(16)
            expires_at = self.expiry(ttl)
            account.start_session(session_id, expires_at, audit)
            try:
                position = self.commit(account)
                break
            except IntegrityError:
                # Another login of the same account saved first: start again from its version
                # (the password was checked once; it must still be the one checked).
                fresh = self.account(account.id)
                if attempt == LOGIN_ATTEMPTS - 1 or fresh is None or fresh.password_hash != verified_hash:
                    raise
                account = fresh
                time.sleep(random.uniform(0, 0.01 * (attempt + 1)))  # spread out the contenders
        token = issue_access_token(
            self.settings.secret(), account.id, session_id, expires_at, position, sequence=account.version
        )
        return token, ttl, account

    def authenticate(self, token: str, *, readonly: bool = False) -> tuple[Account, str]:
        """The account and session of a valid bearer token; Unauthenticated otherwise.
        Identity checks against the aggregate itself (the source of truth); ``readonly``: the
        cached aggregate, which the caller must not change."""
        claims = read_token(self.settings.secret(), token)
        account = self.account(uuid.UUID(claims.account_id), readonly=readonly) if claims else None
        if claims is None or account is None:
            raise no_session()
        account.check_session(claims.session_id)
        return account, claims.session_id

    def log_out(self, account: Account, session_id: str, audit: Audit | None = None) -> None:
        account.end_session(session_id=session_id, reason="logout", audit=by(str(account.id), audit))
        self.commit(account)
