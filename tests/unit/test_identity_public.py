"""services/identity/public.py: internal identity events → public events of identity.events."""

from __future__ import annotations

from typing import Any

from services.identity.app import IdentityApp
from services.identity.public import make_mapper
from services.identity.tokens import RESET
from shared.events import (
    AccountRegisteredV1,
    EmailConfirmationRequestedV1,
    EmailConfirmedV1,
    Envelope,
    PasswordChangedV1,
    PasswordResetRequestedV1,
    ProfileUpdatedV1,
    PublicEvent,
    SessionEndedV1,
    SessionStartedV1,
)
from tests.unit.conftest import STRONG, stored_nonce, unique_login

NEW = "Зелёный-чайник-на-окне-7"


def mapped(app: IdentityApp, after: int = 0) -> list[tuple[str, PublicEvent | None]]:
    to_public = make_mapper(app)
    events: list[Any] = [
        app.mapper.to_domain_event(n) for n in app.recorder.select_notifications(after + 1, 1000)
    ]
    return [(type(e).__qualname__, to_public(e)) for e in events]


def test_each_domain_event_maps_to_its_public_type(identity: IdentityApp) -> None:
    login = unique_login()
    email = f"{login}@example.ru"
    account = identity.register(login=login, email=email, password=STRONG, account_type="consumer")
    identity.resend_confirmation(email)
    nonce = stored_nonce(identity, account.id, "confirmation_nonce")
    identity.confirm_email(identity.token_for(account.id, nonce))
    token, _, _ = identity.log_in(login, STRONG)
    current, session_id = identity.authenticate(token)
    identity.update_profile(current, "Иван", "Петров")
    identity.change_password(current, session_id, STRONG, NEW)
    identity.log_out(*identity.authenticate(token))
    identity.request_password_reset(email)
    reset_nonce = stored_nonce(identity, account.id, "reset_nonce")

    events = mapped(identity)
    assert [(kind, type(p)) for kind, p in events] == [
        ("Account.Registered", AccountRegisteredV1),
        ("EmailOwner.Reserved", type(None)),
        ("Account.ConfirmationRequested", EmailConfirmationRequestedV1),
        ("Account.EmailConfirmed", EmailConfirmedV1),
        ("Account.SessionStarted", SessionStartedV1),
        ("Account.ProfileUpdated", ProfileUpdatedV1),
        ("Account.PasswordChanged", PasswordChangedV1),
        ("Account.SessionEnded", SessionEndedV1),
        ("Account.PasswordResetRequested", PasswordResetRequestedV1),
    ]
    public = [p for _, p in events if p is not None]
    assert {p.account_id for p in public} == {str(account.id)}  # type: ignore[attr-defined]
    registered, requested, _, started, profile, changed, ended, reset = public
    assert isinstance(registered, AccountRegisteredV1)
    assert (registered.login, registered.email, registered.account_type) == (login, email, "consumer")
    assert registered.roles == ["consumer"]
    assert isinstance(requested, EmailConfirmationRequestedV1)
    assert (requested.email, requested.confirmation_token) == (email, identity.token_for(account.id, nonce))
    assert isinstance(started, SessionStartedV1) and isinstance(ended, SessionEndedV1)
    assert started.session_id == ended.session_id == session_id
    assert (started.account_type, started.roles) == ("consumer", ["consumer"])
    assert isinstance(profile, ProfileUpdatedV1)
    assert (profile.first_name, profile.last_name, profile.display_name) == ("Иван", "Петров", "Иван Петров")
    assert isinstance(changed, PasswordChangedV1)
    assert (changed.email, changed.display_name, changed.by_reset) == (email, "Иван Петров", False)
    assert isinstance(reset, PasswordResetRequestedV1)
    assert reset.reset_token == identity.token_for(account.id, reset_nonce, RESET)
    # The public events carry no secrets of the event store: no hash, no nonce.
    wire = b"".join(p.model_dump_json().encode() for p in public)
    assert b"argon2" not in wire and nonce.encode() not in wire and reset_nonce.encode() not in wire


def test_registered_event_token_confirms_the_account(identity: IdentityApp) -> None:
    login = unique_login()
    account = identity.register(
        login=login, email=f"{login}@example.ru", password=STRONG, account_type="consumer"
    )
    public = mapped(identity)[0][1]
    assert isinstance(public, AccountRegisteredV1)
    assert public.confirmation_expires_at == account.confirmation_expires_at
    # The payload survives the wire, and the token in it confirms the account.
    envelope = public.envelope(source="identity", subject=str(account.id), sequence=1, position=1)
    wired = Envelope.from_bytes(envelope.to_bytes()).parse()
    assert isinstance(wired, AccountRegisteredV1)
    identity.confirm_email(wired.confirmation_token)
    assert identity.repository.get(account.id).email_confirmed


def test_staff_registration_carries_no_confirmation_link(identity: IdentityApp) -> None:
    login = unique_login()
    staff = identity.create_staff(
        login=login, email=f"{login}@example.ru", password=STRONG, admin=False, audit={}
    )
    public = [p for _, p in mapped(identity) if p is not None]
    assert [type(p) for p in public] == [AccountRegisteredV1, EmailConfirmedV1]
    registered = public[0]
    assert isinstance(registered, AccountRegisteredV1)
    assert (registered.account_id, registered.account_type, registered.roles) == (
        str(staff.id),
        "staff",
        ["staff"],
    )
    assert (registered.confirmation_token, registered.confirmation_expires_at) == ("", None)
