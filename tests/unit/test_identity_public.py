"""services/identity/public.py: internal identity events → public events of identity.events."""

from __future__ import annotations

from typing import Any

from services.identity.app import IdentityApp
from services.identity.public import make_mapper
from shared.events import (
    AccountRegisteredV1,
    EmailConfirmationRequestedV1,
    EmailConfirmedV1,
    Envelope,
    PublicEvent,
    SessionEndedV1,
    SessionStartedV1,
)
from tests.unit.conftest import STRONG, unique_login


def _domain_events(app: IdentityApp, after: int = 0) -> list[Any]:
    notifications = app.recorder.select_notifications(after + 1, 1000)
    return [app.mapper.to_domain_event(n) for n in notifications]


def test_each_domain_event_maps_to_its_public_type(identity: IdentityApp) -> None:
    login = unique_login()
    email = f"{login}@example.ru"
    account = identity.register(login=login, email=email, password=STRONG, account_type="consumer")
    identity.resend_confirmation(email)
    nonce = identity.repository.get(account.id).confirmation_nonce
    identity.confirm_email(identity.token_for(account.id, nonce))
    token, _, _ = identity.log_in(login, STRONG)
    identity.log_out(*identity.authenticate(token))

    to_public = make_mapper(identity)
    mapped: list[tuple[str, PublicEvent | None]] = [
        (type(e).__qualname__, to_public(e)) for e in _domain_events(identity)
    ]
    kinds = [(kind, type(p)) for kind, p in mapped]
    assert kinds == [
        ("Account.Registered", AccountRegisteredV1),
        ("EmailOwner.Reserved", type(None)),
        ("Account.ConfirmationRequested", EmailConfirmationRequestedV1),
        ("Account.EmailConfirmed", EmailConfirmedV1),
        ("Account.SessionStarted", SessionStartedV1),
        ("Account.SessionEnded", SessionEndedV1),
    ]
    for _, public in mapped:
        if public is not None:
            assert public.account_id == str(account.id)  # type: ignore[attr-defined]
    registered = mapped[0][1]
    assert isinstance(registered, AccountRegisteredV1)
    assert (registered.login, registered.email, registered.account_type) == (login, email, "consumer")
    requested = mapped[2][1]
    assert isinstance(requested, EmailConfirmationRequestedV1)
    assert requested.email == email
    assert requested.confirmation_token == identity.token_for(account.id, nonce)
    started, ended = mapped[4][1], mapped[5][1]
    assert isinstance(started, SessionStartedV1) and isinstance(ended, SessionEndedV1)
    assert started.session_id == ended.session_id


def test_registered_event_token_confirms_the_account(identity: IdentityApp) -> None:
    login = unique_login()
    account = identity.register(
        login=login, email=f"{login}@example.ru", password=STRONG, account_type="consumer"
    )
    public = make_mapper(identity)(_domain_events(identity)[0])
    assert isinstance(public, AccountRegisteredV1)
    assert public.confirmation_expires_at == account.confirmation_expires_at
    # The payload survives the wire, and the token in it confirms the account.
    envelope = public.envelope(source="identity", subject=str(account.id), sequence=1, position=1)
    wired = Envelope.from_bytes(envelope.to_bytes()).parse()
    assert isinstance(wired, AccountRegisteredV1)
    identity.confirm_email(wired.confirmation_token)
    assert identity.repository.get(account.id).email_confirmed
