"""Maps identity's internal domain events to the public events of ``identity.events``.

Audit details (address, user agent) stay in the event store; only the actor travels.
"""

from __future__ import annotations

from typing import Any

from services.identity.app import IdentityApp
from services.identity.tokens import CONFIRM, RESET
from shared.events import (
    AccountRegisteredV1,
    EmailConfirmationRequestedV1,
    EmailConfirmedV1,
    PasswordChangedV1,
    PasswordResetRequestedV1,
    ProfileUpdatedV1,
    PublicEvent,
    SessionEndedV1,
    SessionStartedV1,
)


def make_mapper(app: IdentityApp) -> Any:
    """A mapper bound to ``app`` (it derives link tokens with the service secret)."""

    def to_public(event: Any) -> PublicEvent | None:
        # The declarative @event classes are made at run time; dispatch by their name.
        kind = type(event).__qualname__
        account_id = str(event.originator_id)
        if kind == "Account.Registered":
            nonce = event.confirmation_nonce
            return AccountRegisteredV1(
                account_id=account_id,
                login=event.login,
                email=event.email,
                account_type=event.account_type,
                roles=list(event.roles),
                confirmation_token=app.token_for(event.originator_id, nonce, CONFIRM) if nonce else "",
                confirmation_expires_at=event.confirmation_expires_at,
            )
        if kind == "Account.ConfirmationRequested":
            return EmailConfirmationRequestedV1(
                account_id=account_id,
                email=event.email,
                confirmation_token=app.token_for(event.originator_id, event.nonce, CONFIRM),
                confirmation_expires_at=event.expires_at,
            )
        if kind == "Account.EmailConfirmed":
            return EmailConfirmedV1(account_id=account_id, email=event.email)
        if kind == "Account.SessionStarted":
            return SessionStartedV1(
                account_id=account_id,
                session_id=event.session_id,
                expires_at=event.expires_at,
                account_type=event.account_type,
                roles=list(event.roles),
            )
        if kind == "Account.SessionEnded":
            return SessionEndedV1(account_id=account_id, session_id=event.session_id)
        if kind == "Account.ProfileUpdated":
            return ProfileUpdatedV1(
                account_id=account_id,
                first_name=event.first_name,
                last_name=event.last_name,
                display_name=event.display_name,
            )
        if kind == "Account.PasswordChanged":
            return PasswordChangedV1(
                account_id=account_id,
                email=event.email,
                display_name=event.display_name,
                by_reset=event.by_reset,
            )
        if kind == "Account.PasswordResetRequested":
            return PasswordResetRequestedV1(
                account_id=account_id,
                email=event.email,
                display_name=event.display_name,
                reset_token=app.token_for(event.originator_id, event.nonce, RESET),
                reset_expires_at=event.expires_at,
            )
        return None  # EmailOwner stays internal

    return to_public
