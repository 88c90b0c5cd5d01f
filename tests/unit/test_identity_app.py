"""IdentityApp commands on the in-memory event store: registration, confirmation, sessions."""

from __future__ import annotations

import pytest

from services.identity.app import IdentityApp
from services.identity.domain import Account
from shared.errors import Conflict, DomainError, Forbidden, Invalid, Refused, Unauthenticated
from tests.unit.conftest import STRONG, MakeIdentity, unique_login


def _register(app: IdentityApp, login: str | None = None, email: str | None = None) -> Account:
    login = login or unique_login()
    return app.register(
        login=login, email=email or f"{login}@example.ru", password=STRONG, account_type="consumer"
    )


def _error(excinfo: pytest.ExceptionInfo[DomainError], status: int, code: str) -> None:
    assert (excinfo.value.status, excinfo.value.code) == (status, code)


def _confirm(app: IdentityApp, account: Account) -> None:
    assert account.confirmation_nonce is not None
    app.confirm_email(app.token_for(account.id, account.confirmation_nonce))


def test_uses_the_in_memory_store_given_in_env(identity: IdentityApp) -> None:
    assert type(identity.recorder).__module__ == "eventsourcing.popo"
    assert identity.env.get("PERSISTENCE_MODULE") == "eventsourcing.popo"


def test_register_confirm_log_in_log_out(identity: IdentityApp) -> None:
    login = unique_login()
    account = _register(identity, login)
    with pytest.raises(Forbidden) as refused:
        identity.log_in(login, STRONG)
    _error(refused, 403, "email_not_confirmed")

    _confirm(identity, account)
    token, ttl, logged_in = identity.log_in(login.upper(), STRONG)
    assert ttl == identity.settings.access_token_ttl
    assert logged_in.id == account.id

    current, session_id = identity.authenticate(token)
    assert current.id == account.id and current.email_confirmed
    identity.log_out(current, session_id)
    with pytest.raises(Unauthenticated) as after:
        identity.authenticate(token)
    _error(after, 401, "not_authenticated")


def test_wrong_password_and_unknown_login_are_the_same_401(identity: IdentityApp) -> None:
    login = unique_login()
    _confirm(identity, _register(identity, login))
    for attempt in ((login, STRONG + "x"), (unique_login(), STRONG), ("  ", STRONG)):
        with pytest.raises(Unauthenticated) as info:
            identity.log_in(*attempt)
        _error(info, 401, "invalid_credentials")


def test_garbage_bearer_token_is_401(identity: IdentityApp) -> None:
    with pytest.raises(Unauthenticated) as info:
        identity.authenticate("not-a-token")
    _error(info, 401, "not_authenticated")


def test_confirmed_token_cannot_be_used_twice(identity: IdentityApp) -> None:
    account = _register(identity)
    assert account.confirmation_nonce is not None
    token = identity.token_for(account.id, account.confirmation_nonce)
    identity.confirm_email(token)
    with pytest.raises(Conflict) as info:
        identity.confirm_email(token)
    _error(info, 409, "already_confirmed")


def test_duplicate_login_is_case_insensitive(identity: IdentityApp) -> None:
    login = unique_login()
    _register(identity, login)
    with pytest.raises(Conflict) as info:
        _register(identity, login.upper(), email=f"other-{login}@example.ru")
    _error(info, 409, "login_taken")


def test_duplicate_email_is_case_insensitive_and_creates_nothing(identity: IdentityApp) -> None:
    first = unique_login()
    _register(identity, first, email=f"{first}@example.ru")
    second = unique_login()
    before = identity.recorder.max_notification_id()
    with pytest.raises(Conflict) as info:
        _register(identity, second, email=f"{first.upper()}@EXAMPLE.RU")
    _error(info, 409, "email_taken")
    assert Account.create_id(second) not in identity.repository
    assert identity.recorder.max_notification_id() == before


def test_staff_cannot_self_register(identity: IdentityApp) -> None:
    login = unique_login()
    with pytest.raises(Invalid) as info:
        identity.register(login=login, email=f"{login}@example.ru", password=STRONG, account_type="staff")
    _error(info, 422, "account_type_not_allowed")
    assert Account.create_id(login) not in identity.repository


def test_weak_password_creates_nothing(identity: IdentityApp) -> None:
    login = unique_login()
    with pytest.raises(Invalid) as info:
        identity.register(
            login=login, email=f"{login}@example.ru", password="password123456", account_type="consumer"
        )
    _error(info, 422, "weak_password")
    assert Account.create_id(login) not in identity.repository


def test_resend_replaces_the_nonce(identity: IdentityApp) -> None:
    account = _register(identity)
    old_nonce = account.confirmation_nonce
    assert old_nonce is not None
    old_token = identity.token_for(account.id, old_nonce)
    identity.resend_confirmation(account.email.upper())

    fresh: Account = identity.repository.get(account.id)
    assert fresh.confirmation_nonce not in (None, old_nonce)
    with pytest.raises(Refused) as info:
        identity.confirm_email(old_token)
    _error(info, 400, "invalid_token")
    identity.confirm_email(identity.token_for(account.id, fresh.confirmation_nonce))
    assert identity.repository.get(account.id).email_confirmed


def test_resend_for_unknown_or_confirmed_address_does_nothing(identity: IdentityApp) -> None:
    account = _register(identity)
    _confirm(identity, account)
    before = identity.recorder.max_notification_id()
    identity.resend_confirmation("nobody-at-all@example.ru")
    identity.resend_confirmation(account.email)
    assert identity.recorder.max_notification_id() == before


def test_expired_confirmation_is_refused(make_identity: MakeIdentity) -> None:
    app = make_identity(confirmation_ttl=-1)
    account = _register(app)
    with pytest.raises(Refused) as info:
        _confirm(app, account)
    _error(info, 400, "invalid_token")
    assert not app.repository.get(account.id).email_confirmed


def test_token_signed_with_another_secret_is_refused(make_identity: MakeIdentity) -> None:
    app = make_identity()
    account = _register(app)
    assert account.confirmation_nonce is not None
    other = make_identity(secret_key="y" * 32)
    with pytest.raises(Refused) as info:
        app.confirm_email(other.token_for(account.id, account.confirmation_nonce))
    _error(info, 400, "invalid_token")


def test_expired_sessions_are_ended_at_next_log_in(make_identity: MakeIdentity) -> None:
    app = make_identity(access_token_ttl=-1)
    login = unique_login()
    _confirm(app, _register(app, login))
    token, _, _ = app.log_in(login, STRONG)
    with pytest.raises(Unauthenticated) as info:
        app.authenticate(token)
    _error(info, 401, "not_authenticated")
    _, _, account = app.log_in(login, STRONG)
    assert len(account.sessions) == 1  # the first, expired one was ended


def test_failed_log_ins_do_not_retain_earlier_attempts(identity: IdentityApp) -> None:
    errors: list[Unauthenticated] = []
    for password in ("first-wrong-password", "second-wrong-password"):
        with pytest.raises(Unauthenticated) as info:
            identity.log_in("nobody_here", password)
        errors.append(info.value)
    kept: list[object] = []
    tb = errors[1].__traceback__
    while tb is not None:
        kept.append(tb.tb_frame.f_locals.get("password"))
        tb = tb.tb_next
    assert "first-wrong-password" not in kept
