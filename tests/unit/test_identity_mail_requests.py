"""Resend and reset requests: the request path only queues (the same work and the same
answer for every address); identity's worker looks the address up, applies the limits
and saves the event."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from fastapi import FastAPI

from services.identity.api import ROUTERS
from services.identity.app import IdentityApp
from services.identity.domain import Account
from services.identity.mail_requests import MailRequest, MailRequests
from services.identity.projections import Directory
from services.identity.state import IdentityState
from services.identity.throttle import Throttle
from shared.http import install_error_handlers
from shared.readstore import SQLiteReadStore
from shared.settings import Settings
from tests.unit.conftest import SECRET, STRONG, unique_login


class Untouchable:
    """Stands in for the IdentityApp: the request path must not look anything up."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the request path used identity.{name}")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteReadStore]:
    store = SQLiteReadStore(tmp_path / "identity.sqlite")
    await store.open()
    yield store
    await store.close()


async def make_throttle(store: SQLiteReadStore, **overrides: Any) -> Throttle:
    throttle = Throttle(store, Settings(secret_key=SECRET, **overrides))
    await throttle.setup()
    return throttle


@pytest.mark.parametrize(
    ("path", "kind"),
    [("/api/v1/password-reset", "reset"), ("/api/v1/accounts/resend-confirmation", "confirmation")],
)
async def test_the_request_path_only_queues(path: str, kind: str, store: SQLiteReadStore) -> None:
    untouchable, throttle = cast(IdentityApp, Untouchable()), await make_throttle(store)
    mail = MailRequests(untouchable, throttle, maxsize=10)
    app = FastAPI()
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    settings = Settings(secret_key=SECRET)
    app.state.settings = settings
    app.state.service = IdentityState(untouchable, throttle, mail, Directory(store), settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://identity") as http:
        known = await http.post(path, json={"email": "known@example.ru"})
        unknown = await http.post(path, json={"email": "nobody@example.ru"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    queued = [mail.queue.get_nowait() for _ in range(mail.queue.qsize())]
    assert [(r.kind, r.email) for r in queued] == [(kind, "known@example.ru"), (kind, "nobody@example.ru")]
    assert all(r.audit["ip"] == "127.0.0.1" for r in queued)


async def test_the_worker_does_the_work_within_the_limits(
    identity: IdentityApp, store: SQLiteReadStore
) -> None:
    mail = MailRequests(identity, await make_throttle(store, mail_per_address_max=2), maxsize=10)
    login = unique_login()
    account = identity.register(
        login=login, email=f"{login}@example.ru", password=STRONG, account_type="consumer"
    )
    nonces: set[str | None] = set()
    for ip in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
        done = await mail.handle(MailRequest("reset", account.email.upper(), {"ip": ip}))
        nonces.add(identity.repository.get(account.id).reset_nonce)
        assert done is (ip != "192.0.2.3")  # the third for one address is dropped
    assert len(nonces) == 2
    before = identity.recorder.max_notification_id()
    assert await mail.handle(MailRequest("confirmation", "nobody@example.ru", {"ip": "192.0.2.4"}))
    assert identity.recorder.max_notification_id() == before  # nothing for an unknown address


async def test_requests_are_worked_off_in_the_background(
    identity: IdentityApp, store: SQLiteReadStore
) -> None:
    mail = MailRequests(identity, await make_throttle(store), maxsize=2)
    login = unique_login()
    account = identity.register(
        login=login, email=f"{login}@example.ru", password=STRONG, account_type="consumer"
    )
    first_nonce = account.confirmation_nonce
    mail.submit(MailRequest("confirmation", account.email, {"ip": "192.0.2.1"}))
    mail.submit(MailRequest("reset", "nobody@example.ru", {"ip": "192.0.2.1"}))
    mail.submit(MailRequest("reset", account.email, {"ip": "192.0.2.1"}))  # the queue is full: dropped
    worker = asyncio.create_task(mail.run())
    try:
        await mail.drain(timeout=5)
    finally:
        worker.cancel()
    current: Account = identity.repository.get(account.id)
    assert current.confirmation_nonce != first_nonce and current.reset_nonce is None
