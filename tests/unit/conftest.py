"""Unit fixtures: an IdentityApp on the in-memory event store, fresh per test."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from services.identity.app import IdentityApp
from services.identity.domain import Account
from shared.settings import Settings

STRONG = "Корова-на-луне-2026!"
SECRET = "x" * 32

MakeIdentity = Callable[..., IdentityApp]


@pytest.fixture
def make_identity(tmp_path: Path) -> Iterator[MakeIdentity]:
    """Builds IdentityApps on the in-memory (popo) store; settings overrides as kwargs."""
    made: list[IdentityApp] = []

    def make(**overrides: Any) -> IdentityApp:
        settings = Settings(**{"mode": "embedded", "secret_key": SECRET, "var_dir": tmp_path, **overrides})
        app = IdentityApp(settings, {"PERSISTENCE_MODULE": "eventsourcing.popo"})
        made.append(app)
        return app

    yield make
    for app in made:
        app.close()


@pytest.fixture
def identity(make_identity: MakeIdentity) -> IdentityApp:
    return make_identity()


def unique_login() -> str:
    return f"user_{uuid.uuid4().hex[:10]}"


def stored_nonce(app: IdentityApp, account_id: uuid.UUID, which: str) -> str:
    """The nonce (``confirmation_nonce``, ``reset_nonce``) the account holds now; it must hold one."""
    account: Account = app.repository.get(account_id)
    nonce = getattr(account, which)
    assert isinstance(nonce, str), f"the account holds no {which}"
    return nonce
