"""IdentityApp: changing a password, and resetting it by an e-mailed link."""

from __future__ import annotations

import pytest

from services.identity.app import IdentityApp
from services.identity.domain import Account
from services.identity.tokens import CONFIRM, RESET
from shared.errors import DomainError
from tests.unit.conftest import STRONG, MakeIdentity, stored_nonce, unique_login

NEW = "Зелёный-чайник-на-окне-7"


def confirmed(app: IdentityApp) -> Account:
    login = unique_login()
    account = app.register(login=login, email=f"{login}@example.ru", password=STRONG, account_type="consumer")
    assert account.confirmation_nonce is not None
    return app.confirm_email(app.token_for(account.id, account.confirmation_nonce))


def code_of(call: object, *args: object) -> tuple[int, str]:
    with pytest.raises(DomainError) as info:
        call(*args)  # type: ignore[operator]
    return info.value.status, info.value.code


def reset_token(app: IdentityApp, account: Account) -> str:
    app.request_password_reset(account.email.upper())
    nonce = stored_nonce(app, account.id, "reset_nonce")
    assert nonce is not None
    return app.token_for(account.id, nonce, RESET)


def test_change_password_keeps_this_session_and_ends_the_others(identity: IdentityApp) -> None:
    account = confirmed(identity)
    this, _, _ = identity.log_in(account.login, STRONG)
    other, _, _ = identity.log_in(account.login, STRONG)
    current, session_id = identity.authenticate(this)
    identity.change_password(current, session_id, STRONG, NEW)

    assert identity.authenticate(this)[1] == session_id
    assert code_of(identity.authenticate, other) == (401, "not_authenticated")
    assert code_of(identity.log_in, account.login, STRONG) == (401, "invalid_credentials")
    identity.log_in(account.login, NEW)


def test_change_password_refusals(identity: IdentityApp) -> None:
    account = confirmed(identity)
    token, _, _ = identity.log_in(account.login, STRONG)
    current, sid = identity.authenticate(token)
    assert code_of(identity.change_password, current, sid, "wrong-current-pass", NEW) == (
        400,
        "wrong_password",
    )
    assert code_of(identity.change_password, current, sid, STRONG, STRONG) == (422, "same_password")
    assert code_of(identity.change_password, current, sid, STRONG, "password123456") == (422, "weak_password")
    identity.log_in(account.login, STRONG)  # still the old password


def test_reset_by_link_ends_every_session_and_is_single_use(identity: IdentityApp) -> None:
    account = confirmed(identity)
    session, _, _ = identity.log_in(account.login, STRONG)
    token = reset_token(identity, account)
    identity.reset_password(token, NEW)

    assert code_of(identity.authenticate, session) == (401, "not_authenticated")
    identity.log_in(account.login, NEW)
    assert code_of(identity.reset_password, token, "Третий-пароль-на-луне-9") == (400, "invalid_token")


def test_reset_confirms_an_unconfirmed_address(identity: IdentityApp) -> None:
    login = unique_login()
    account = identity.register(
        login=login, email=f"{login}@example.ru", password=STRONG, account_type="consumer"
    )
    identity.reset_password(reset_token(identity, account), NEW)
    assert identity.repository.get(account.id).email_confirmed
    identity.log_in(login, NEW)


def test_reset_refuses_other_links_and_weak_passwords(identity: IdentityApp) -> None:
    account = confirmed(identity)
    token = reset_token(identity, account)
    nonce = stored_nonce(identity, account.id, "reset_nonce")
    as_confirm = identity.token_for(account.id, nonce, CONFIRM)  # right nonce, wrong purpose
    assert code_of(identity.reset_password, as_confirm, NEW) == (400, "invalid_token")
    assert code_of(identity.reset_password, "garbage", NEW) == (400, "invalid_token")
    assert code_of(identity.reset_password, token, "password123456") == (422, "weak_password")
    newer = reset_token(identity, account)  # a newer link replaces the older one
    assert code_of(identity.reset_password, token, NEW) == (400, "invalid_token")
    identity.reset_password(newer, NEW)


def test_expired_reset_link_is_refused(make_identity: MakeIdentity) -> None:
    app = make_identity(reset_ttl=-1)
    account = confirmed(app)
    assert code_of(app.reset_password, reset_token(app, account), NEW) == (400, "invalid_token")


def test_reset_for_unknown_address_does_nothing(identity: IdentityApp) -> None:
    before = identity.recorder.max_notification_id()
    identity.request_password_reset("nobody-at-all@example.ru")
    assert identity.recorder.max_notification_id() == before


def test_new_passwords_may_not_contain_the_persons_names(identity: IdentityApp) -> None:
    account = identity.update_profile(confirmed(identity), "Иван", "Петров")
    token, _, _ = identity.log_in(account.login, STRONG)
    current, sid = identity.authenticate(token)
    for named in ("Петров-Корова-на-луне-2026", "Gtnhjd-Корова-на-луне-2026"):  # the second: Latin layout
        assert code_of(identity.change_password, current, sid, STRONG, named) == (422, "weak_password")
        assert code_of(identity.reset_password, reset_token(identity, account), named) == (
            422,
            "weak_password",
        )
    identity.change_password(identity.authenticate(token)[0], sid, STRONG, NEW)
