"""IdentityApp: staff accounts, the profile and the audit history."""

from __future__ import annotations

import pytest

from services.identity.app import IdentityApp
from services.identity.domain import Account
from services.identity.values import NAME_MAX
from shared.errors import Conflict, Invalid
from tests.unit.conftest import STRONG, unique_login


def test_staff_account_is_created_confirmed_with_roles(identity: IdentityApp) -> None:
    login = unique_login()
    staff = identity.create_staff(
        login=login, email=f"{login}@example.ru", password=STRONG, admin=True, audit={"actor": "cli"}
    )
    assert (staff.account_type, list(staff.roles), staff.email_confirmed) == (
        "staff",
        ["staff", "admin"],
        True,
    )
    assert staff.confirmation_nonce is None
    _, _, account = identity.log_in(login, STRONG)  # no e-mail step
    assert account.id == staff.id


def test_staff_login_and_email_are_unique_with_consumers(identity: IdentityApp) -> None:
    login = unique_login()
    identity.register(login=login, email=f"{login}@example.ru", password=STRONG, account_type="consumer")
    with pytest.raises(Conflict) as info:
        identity.create_staff(
            login=unique_login(), email=f"{login}@example.ru", password=STRONG, admin=False, audit={}
        )
    assert info.value.code == "email_taken"


def test_update_profile_sets_names_and_display_name(identity: IdentityApp) -> None:
    login = unique_login()
    account = identity.register(
        login=login, email=f"{login}@example.ru", password=STRONG, account_type="consumer"
    )
    assert account.display_name == login
    identity.update_profile(account, "  Иван ", "<b>Петров</b>")
    stored: Account = identity.repository.get(account.id)
    assert (stored.first_name, stored.last_name) == ("Иван", "<b>Петров</b>")  # data, escaped when shown
    assert stored.display_name == "Иван <b>Петров</b>"
    version = stored.version
    identity.update_profile(stored, "Иван", "<b>Петров</b>")  # no change, no event
    assert identity.repository.get(account.id).version == version


@pytest.mark.parametrize("bad", ["x" * (NAME_MAX + 1), "Иван\u0000", "Ив\u202eан", "Ив\nан"])
def test_update_profile_refuses_bad_names(identity: IdentityApp, bad: str) -> None:
    login = unique_login()
    account = identity.register(
        login=login, email=f"{login}@example.ru", password=STRONG, account_type="consumer"
    )
    with pytest.raises(Invalid) as info:
        identity.update_profile(account, bad, "Петров")
    assert (info.value.status, info.value.code) == (422, "invalid_name")
    assert identity.repository.get(account.id).first_name == ""


def test_history_lists_every_event_with_its_actor(identity: IdentityApp) -> None:
    login = unique_login()
    account = identity.register(
        login=login,
        email=f"{login}@example.ru",
        password=STRONG,
        account_type="consumer",
        audit={"ip": "192.0.2.7", "user_agent": "pytest"},
    )
    assert account.confirmation_nonce is not None
    identity.confirm_email(identity.token_for(account.id, account.confirmation_nonce))
    identity.log_in(login, STRONG, audit={"ip": "192.0.2.8"})
    history = identity.history(account.id)
    assert [(h["version"], h["type"], h["actor"]) for h in history] == [
        (1, "Registered", "self"),
        (2, "EmailConfirmed", "self"),
        (3, "SessionStarted", str(account.id)),
    ]
    assert (history[0]["ip"], history[0]["user_agent"], history[2]["ip"]) == (
        "192.0.2.7",
        "pytest",
        "192.0.2.8",
    )
