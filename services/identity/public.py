"""Maps identity's internal domain events to the public events of ``identity.events``."""

from __future__ import annotations

from typing import Any

from services.identity.app import IdentityApp
from shared.events import (
    AccountRegisteredV1,
    EmailConfirmationRequestedV1,
    EmailConfirmedV1,
    PublicEvent,
    SessionEndedV1,
    SessionStartedV1,
)


def make_mapper(app: IdentityApp) -> Any:
    """A mapper bound to ``app`` (it derives confirmation tokens with the service secret)."""

    def to_public(event: Any) -> PublicEvent | None:
        # The declarative @event classes are made at run time; dispatch by their name.
        kind = type(event).__qualname__
        account_id = str(event.originator_id)
        if kind == "Account.Registered":
            return AccountRegisteredV1(
                account_id=account_id,
                login=event.login,
                email=event.email,
                account_type=event.account_type,
                confirmation_token=app.token_for(event.originator_id, event.confirmation_nonce),
                confirmation_expires_at=event.confirmation_expires_at,
            )
        if kind == "Account.ConfirmationRequested":
            return EmailConfirmationRequestedV1(
                account_id=account_id,
                email=event.email,
                confirmation_token=app.token_for(event.originator_id, event.nonce),
                confirmation_expires_at=event.expires_at,
            )
        if kind == "Account.EmailConfirmed":
            return EmailConfirmedV1(account_id=account_id, email=event.email)
        if kind == "Account.SessionStarted":
            return SessionStartedV1(
                account_id=account_id, session_id=event.session_id, expires_at=event.expires_at
            )
        if kind == "Account.SessionEnded":
            return SessionEndedV1(account_id=account_id, session_id=event.session_id)
        return None  # EmailOwner and snapshots stay internal

    return to_public
