"""The e-mail address is confirmed by the e-mailed link; a new link on request."""

from __future__ import annotations

import secrets

from services.identity.domain import Account
from services.identity.tokens import CONFIRM
from services.identity.use_cases.base import IdentityBase
from services.identity.values import Audit, by


class Confirmation(IdentityBase):
    def confirm_email(self, token: str, audit: Audit | None = None) -> Account:
        account, nonce = self.by_link(CONFIRM, token)
        account.confirm_email(nonce, by("self", audit))
        self.commit(account)
        return account

    def resend_confirmation(self, email: str, audit: Audit | None = None) -> None:
        """Send a new link; silently does nothing for unknown or confirmed addresses,
        so the answer never tells whether an address is registered."""
        account = self.by_email(email)
        if account is None or account.email_confirmed:
            return
        expires_at = self.expiry(self.settings.confirmation_ttl)
        account.ask_confirmation(secrets.token_hex(16), expires_at, by("self", audit))
        self.commit(account)
