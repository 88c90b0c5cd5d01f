"""What every use case of identity reads: accounts by id, by e-mail, by an e-mailed link."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from eventsourcing.application import AggregateNotFoundError

from services.identity.domain import Account, EmailOwner, bad_link
from services.identity.tokens import CONFIRM, link_token, parse_link_token
from shared.application import ServiceApplication


class IdentityBase(ServiceApplication):
    """Identity's event store and its look-ups (the use cases build on it)."""

    def account(self, account_id: uuid.UUID, *, readonly: bool = False) -> Account | None:
        """The account; ``readonly``: the cached aggregate itself, which the caller must not
        change (no copy, no query)."""
        try:
            found: Any = self.repository.get(account_id, deepcopy_from_cache=not readonly)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, Account) else None

    def by_email(self, email: str) -> Account | None:
        owner = self.find(EmailOwner.create_id(email), EmailOwner)
        return self.account(owner.account_id) if owner else None

    def by_link(self, purpose: str, token: str) -> tuple[Account, str]:
        """The account a genuine link token names, and the token's nonce; a refusal otherwise."""
        parsed = parse_link_token(self.settings.secret(), purpose, token)
        account = self.account(parsed[0]) if parsed else None
        if parsed is None or account is None:
            raise bad_link()
        return account, parsed[1]

    def token_for(self, account_id: uuid.UUID, nonce: str, purpose: str = CONFIRM) -> str:
        """The link token of an e-mail (the relay puts it in the public event)."""
        return link_token(self.settings.secret(), purpose, account_id, nonce)

    def expiry(self, seconds: int) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=seconds)
