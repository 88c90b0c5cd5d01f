"""services/identity/throttle.py: login places reserved before the password check, per
(login, address) and per address; a slower answer, not a lock, for a login under attack;
registration and mail limits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from services.identity.throttle import Throttle
from shared.errors import TooMany
from shared.http import error_headers
from shared.readstore import SQLiteReadStore
from shared.settings import Settings

A, B = "192.0.2.1", "192.0.2.2"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteReadStore]:
    store = SQLiteReadStore(tmp_path / "identity.sqlite")
    await store.open()
    yield store
    await store.close()


async def throttle_on(store: SQLiteReadStore, **overrides: Any) -> Throttle:
    settings = Settings(**{"login_max_failures": 3, "login_max_failures_per_ip": 10, **overrides})
    throttle = Throttle(store, settings)
    await throttle.setup()
    return throttle


async def refused(throttle: Throttle, login: str, address: str) -> TooMany:
    with pytest.raises(TooMany) as info:
        await throttle.admit(login, address)
    return info.value


async def fail(throttle: Throttle, login: str, address: str, times: int = 1) -> None:
    for _ in range(times):
        await throttle.failed(await throttle.admit(login, address))


async def test_failures_lock_the_login_from_that_address_only(store: SQLiteReadStore) -> None:
    throttle = await throttle_on(store)
    await fail(throttle, "Ivan", A, 3)
    error = await refused(throttle, "ivan ", A)  # the login as identity normalises it
    assert (error.status, error.code) == (429, "too_many_attempts")
    headers = error_headers(error)
    assert headers and 890 < int(headers["Retry-After"]) <= 900
    # The owner elsewhere is not locked out: the answer only comes later.
    owner = await throttle.admit("ivan", B)
    assert owner.delay == 0.25
    await throttle.succeeded(owner)
    assert (await throttle.admit("petr", A)).delay == 0  # another login from the same address


def test_the_delay_grows_with_failures_and_is_capped() -> None:
    throttle = Throttle(SQLiteReadStore(Path("unused.sqlite")), Settings(login_max_failures=5))
    assert [throttle.delay_after(n) for n in range(12)] == [0, 0, 0, 0, 0, 0.25, 0.5, 1, 2, 3, 3, 3]
    assert throttle.delay_after(10**6) == 3


async def test_concurrent_attempts_never_pass_the_limit(store: SQLiteReadStore) -> None:
    throttle = await throttle_on(store)
    attempts = [asyncio.create_task(throttle.admit("ivan", A)) for _ in range(10)]
    await asyncio.sleep(0.2)
    admitted = [t for t in attempts if t.done()]
    assert len(admitted) == 3  # the others wait for the outcome of these three
    for task in admitted:
        await throttle.failed(task.result())
    rest = await asyncio.gather(*(t for t in attempts if t not in admitted), return_exceptions=True)
    assert all(isinstance(e, TooMany) and e.status == 429 for e in rest)


async def test_concurrent_right_passwords_all_get_through(store: SQLiteReadStore) -> None:
    throttle = await throttle_on(store)

    async def log_in() -> None:
        admission = await throttle.admit("ivan", A)
        await asyncio.sleep(0.01)  # the password check
        await throttle.succeeded(admission)

    await asyncio.gather(*(log_in() for _ in range(12)))


async def test_a_success_clears_its_own_failures(store: SQLiteReadStore) -> None:
    throttle = await throttle_on(store)
    await fail(throttle, "ivan", A, 2)
    await throttle.succeeded(await throttle.admit("ivan", A))
    await fail(throttle, "ivan", A, 3)  # three more, not one
    assert (await refused(throttle, "ivan", A)).status == 429


async def test_errors_other_than_a_wrong_password_give_the_place_back(store: SQLiteReadStore) -> None:
    throttle = await throttle_on(store)
    for _ in range(5):
        await throttle.abandoned(await throttle.admit("ivan", A))
    await fail(throttle, "ivan", A, 3)


async def test_a_password_reset_forgives_the_login_everywhere(store: SQLiteReadStore) -> None:
    throttle = await throttle_on(store)
    await fail(throttle, "ivan", A, 3)
    await fail(throttle, "ivan", B, 3)
    await fail(throttle, "ivanov", A, 3)
    assert (await throttle.admit("ivan", "192.0.2.3")).delay == 2.0  # 6 failures, 3 over
    await throttle.forgive("Ivan")
    assert (await throttle.admit("ivan", A)).delay == 0
    assert (await throttle.admit("ivan", B)).delay == 0
    assert (await refused(throttle, "ivanov", A)).status == 429  # another login stays as it was


async def test_the_address_limit_covers_every_login(store: SQLiteReadStore) -> None:
    throttle = await throttle_on(store)
    for i in range(10):
        await fail(throttle, f"user{i}", A)
    assert (await refused(throttle, "someone", A)).code == "too_many_attempts"
    await throttle.admit("someone", B)


async def test_counts_survive_a_restart_and_held_places_do_not(store: SQLiteReadStore) -> None:
    throttle = await throttle_on(store)
    await fail(throttle, "ivan", A, 2)
    await throttle.admit("ivan", A)  # the process dies during this check
    again = await throttle_on(store)
    await fail(again, "ivan", A)  # the dead attempt's place is free again
    assert (await refused(again, "ivan", A)).status == 429


async def test_registrations_per_address(store: SQLiteReadStore) -> None:
    throttle = await throttle_on(store, register_per_client_max=2)
    await throttle.registration(A)
    await throttle.registration(A)
    with pytest.raises(TooMany) as info:
        await throttle.registration(A)
    assert (info.value.status, info.value.code) == (429, "too_many_requests")
    headers = error_headers(info.value)
    assert headers and int(headers["Retry-After"]) > 0
    assert "Слишком много регистраций" in info.value.message
    await throttle.registration(B)


async def test_mail_per_e_mail_address_and_per_client(store: SQLiteReadStore) -> None:
    throttle = await throttle_on(store, mail_per_address_max=2, mail_per_client_max=3)
    assert [await throttle.mail_allowed("Ivan@Example.ru", ip) for ip in (A, B, "192.0.2.3")] == [
        True,
        True,
        False,
    ]
    assert [await throttle.mail_allowed(f"u{i}@example.ru", "192.0.2.9") for i in range(4)] == [
        True,
        True,
        True,
        False,
    ]
