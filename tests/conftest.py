"""Shared fixtures: a running system per mode, unique people to register."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.harness import System

MODES = ("embedded", "stack")


@pytest.fixture(scope="session", params=MODES)
def system(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """The whole system, started once per mode for the session (tests use fresh logins)."""
    sys_ = System.create(request.param, tmp_path_factory.mktemp(f"system-{request.param}"))
    try:
        sys_.start()
        yield sys_
    finally:  # a start that failed half-way leaves processes and connections: stop them too
        sys_.destroy()


@pytest.fixture(params=MODES)
def fresh_system(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[System]:
    """A system of its own, for tests that kill processes or stop servers."""
    sys_ = System.create(request.param, tmp_path_factory.mktemp(f"fresh-{request.param}"))
    try:
        sys_.start()
        yield sys_
    finally:  # a start that failed half-way leaves processes and connections: stop them too
        sys_.destroy()


@pytest.fixture(autouse=True)
def no_duplicate_mail(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test that runs a system: the mail receiver dropped no duplicate while it ran
    (the sink and Mailpit drop a repeated Message-ID; here that drop cannot hide). Tests
    that kill processes on purpose are marked ``crash`` and check their own bound."""
    systems = [request.getfixturevalue(n) for n in ("system", "fresh_system") if n in request.fixturenames]
    before = [s.mailbox.dropped() for s in systems]
    yield
    if request.node.get_closest_marker("crash") is None:
        after = [s.mailbox.dropped() for s in systems]
        assert after == before, f"the mail receiver dropped duplicates: {before} → {after}"


@dataclass
class Person:
    login: str
    email: str
    password: str = "Корова-на-луне-2026!"

    def registration(self) -> dict[str, str]:
        return {
            "login": self.login,
            "email": self.email,
            "password": self.password,
            "account_type": "consumer",
        }


@pytest.fixture
def person() -> Person:
    tag = uuid.uuid4().hex[:10]
    return Person(login=f"user_{tag}", email=f"user_{tag}@example.ru")


def new_person() -> Person:
    tag = uuid.uuid4().hex[:10]
    return Person(login=f"user_{tag}", email=f"user_{tag}@example.ru")
