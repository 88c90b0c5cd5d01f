"""Identity's domain events → the public events of ``identity.events``, by event class.

Audit details (address, user agent) stay in the event store; only the actor travels. The
confirmation and reset links are derived from the events' nonces with the service secret
(decision 6), so the relay's map is made around the application (:func:`make_mapper`);
``EVENTS`` is the same map without a secret: what identity declares it publishes.
"""

from __future__ import annotations

from services.identity.app import IdentityApp
from services.identity.domain import Account, EmailOwner
from services.identity.tokens import Links
from shared.events import (
    AccountRegisteredV1,
    EmailConfirmationRequestedV1,
    EmailConfirmedV1,
    PasswordChangedV1,
    PasswordResetRequestedV1,
    ProfileUpdatedV1,
    SessionEndedV1,
    SessionStartedV1,
)
from shared.idempotency import IdempotencyRecord
from shared.mapping import EventMap


def event_map(links: Links) -> EventMap:
    """Identity's event map, its links derived by ``links``."""
    events = EventMap()
    events.internal(EmailOwner.Reserved, IdempotencyRecord.Recorded)

    @events.public(Account.Registered, to=AccountRegisteredV1)
    def registered(e: Account.Registered) -> AccountRegisteredV1:
        nonce = e.confirmation_nonce
        return AccountRegisteredV1(
            account_id=str(e.originator_id),
            login=e.login,
            email=e.email,
            account_type=e.account_type,
            roles=list(e.roles),
            confirmation_token=links.confirm(e.originator_id, nonce) if nonce else "",
            confirmation_expires_at=e.confirmation_expires_at,
        )

    @events.public(Account.ConfirmationRequested, to=EmailConfirmationRequestedV1)
    def confirmation_requested(e: Account.ConfirmationRequested) -> EmailConfirmationRequestedV1:
        return EmailConfirmationRequestedV1(
            account_id=str(e.originator_id),
            email=e.email,
            confirmation_token=links.confirm(e.originator_id, e.nonce),
            confirmation_expires_at=e.expires_at,
        )

    @events.public(Account.EmailConfirmed, to=EmailConfirmedV1)
    def email_confirmed(e: Account.EmailConfirmed) -> EmailConfirmedV1:
        return EmailConfirmedV1(account_id=str(e.originator_id), email=e.email)

    @events.public(Account.SessionStarted, to=SessionStartedV1)
    def session_started(e: Account.SessionStarted) -> SessionStartedV1:
        return SessionStartedV1(
            account_id=str(e.originator_id),
            session_id=e.session_id,
            expires_at=e.expires_at,
            account_type=e.account_type,
            roles=list(e.roles),
        )

    @events.public(Account.SessionEnded, to=SessionEndedV1)
    def session_ended(e: Account.SessionEnded) -> SessionEndedV1:
        return SessionEndedV1(account_id=str(e.originator_id), session_id=e.session_id)

    @events.public(Account.ProfileUpdated, to=ProfileUpdatedV1)
    def profile_updated(e: Account.ProfileUpdated) -> ProfileUpdatedV1:
        return ProfileUpdatedV1(
            account_id=str(e.originator_id),
            first_name=e.first_name,
            last_name=e.last_name,
            display_name=e.display_name,
            middle_name=e.middle_name,
            applicant_kind=e.applicant_kind,
            organisation_name=e.organisation_name,
            inn=e.inn,
            ogrn=e.ogrn,
            ogrnip=e.ogrnip,
            kpp=e.kpp,
        )

    @events.public(Account.PasswordChanged, to=PasswordChangedV1)
    def password_changed(e: Account.PasswordChanged) -> PasswordChangedV1:
        return PasswordChangedV1(
            account_id=str(e.originator_id), email=e.email, display_name=e.display_name, by_reset=e.by_reset
        )

    @events.public(Account.PasswordResetRequested, to=PasswordResetRequestedV1)
    def reset_requested(e: Account.PasswordResetRequested) -> PasswordResetRequestedV1:
        return PasswordResetRequestedV1(
            account_id=str(e.originator_id),
            email=e.email,
            display_name=e.display_name,
            reset_token=links.reset(e.originator_id, e.nonce),
            reset_expires_at=e.expires_at,
        )

    return events


EVENTS = event_map(Links(secret=None))


def make_mapper(app: IdentityApp) -> EventMap:
    """The relay's map: links derived with ``app``'s secret."""
    return event_map(Links(app.settings.secret()))
