"""Changing the password (knowing the current one) and resetting it by an e-mailed link."""

from __future__ import annotations

import secrets

from services.identity.domain import Account
from services.identity.tokens import RESET
from services.identity.use_cases.base import IdentityBase
from services.identity.values import Audit, by


class Passwords(IdentityBase):
    def change_password(
        self, account: Account, session_id: str, current: str, new: str, audit: Audit | None = None
    ) -> None:
        """Change the password; every other session of the account ends, this one stays."""
        account.change_password(current, new, session_id, by(str(account.id), audit))
        self.commit(account)

    def request_password_reset(self, email: str, audit: Audit | None = None) -> None:
        """E-mail a single-use reset link valid for an hour. Unknown addresses: nothing
        happens and nothing tells the caller so."""
        account = self.by_email(email)
        if account is None:
            return
        expires_at = self.expiry(self.settings.reset_ttl)
        account.ask_password_reset(secrets.token_hex(16), expires_at, by("self", audit))
        self.commit(account)

    def reset_password(self, token: str, new: str, audit: Audit | None = None) -> Account:
        """Set a new password from an e-mailed link; every session of the account ends."""
        account, nonce = self.by_link(RESET, token)
        account.reset_password(nonce, new, by("self", audit))
        self.commit(account)
        return account
