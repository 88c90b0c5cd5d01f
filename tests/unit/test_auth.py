"""shared/auth.py: the session registry other services keep, and token checks against it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from starlette.requests import Request

from services.identity.tokens import issue_access_token
from shared.auth import CSRF_COOKIE, CSRF_HEADER, Authenticator, Principal, check_csrf
from shared.consumer import ConsumerRunner
from shared.events import SessionEndedV1, SessionStartedV1
from shared.http import ApiError
from shared.readstore import SQLiteReadStore
from shared.sessions import SessionRegistry
from shared.transport import Message
from shared.transport.embedded import EmbeddedTransport

SECRET = "k" * 32
TOPIC = "identity.events"


class Identity:
    """Plays identity's part: mints tokens and turns session facts into records."""

    def __init__(self) -> None:
        self.position = 0
        self.sequences: dict[str, int] = {}

    def record(self, account_id: str, payload: SessionStartedV1 | SessionEndedV1) -> Message:
        self.position += 1
        self.sequences[account_id] = self.sequences.get(account_id, 0) + 1
        envelope = payload.envelope(
            source="identity", subject=account_id, sequence=self.sequences[account_id], position=self.position
        )
        return Message(TOPIC, 0, self.position - 1, account_id, envelope.to_bytes())

    def log_in(self, account_id: str, session_ttl: float = 3600) -> tuple[str, str, Message]:
        """A token valid for an hour for a session that ends after ``session_ttl``."""
        session_id = uuid.uuid4().hex
        now = datetime.now(UTC)
        started = SessionStartedV1(
            account_id=account_id,
            session_id=session_id,
            expires_at=now + timedelta(seconds=session_ttl),
            roles=["consumer"],
        )
        message = self.record(account_id, started)
        token = issue_access_token(
            SECRET, uuid.UUID(account_id), session_id, now + timedelta(hours=1), self.position
        )
        return token, session_id, message


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteReadStore]:
    store = SQLiteReadStore(tmp_path / "gateway.sqlite")
    await store.open()
    yield store
    await store.close()


async def start(store: SQLiteReadStore, tmp_path: Path) -> tuple[Authenticator, ConsumerRunner]:
    registry = SessionRegistry("gateway", TOPIC)
    runner = ConsumerRunner(registry, EmbeddedTransport(tmp_path / "bus.sqlite"), store)
    await runner.setup()
    return Authenticator(SECRET, registry, runner, catch_up=0.5), runner


async def refused(auth: Authenticator, token: str) -> bool:
    try:
        await auth.authenticate(token)
    except ApiError as exc:
        assert (exc.status, exc.code) == (401, "not_authenticated")
        return True
    return False


async def test_open_session_is_accepted_and_ended_one_is_not(store: SQLiteReadStore, tmp_path: Path) -> None:
    auth, runner = await start(store, tmp_path)
    identity = Identity()
    account = str(uuid.uuid4())
    token, session_id, started = identity.log_in(account)
    await runner.apply_batch([started])
    assert await auth.authenticate(token) == Principal(account, session_id, "consumer", ("consumer",))

    ended = identity.record(account, SessionEndedV1(account_id=account, session_id=session_id))
    await runner.apply_batch([ended])
    assert await refused(auth, token)


async def test_forged_expired_or_foreign_tokens_are_refused(store: SQLiteReadStore, tmp_path: Path) -> None:
    auth, runner = await start(store, tmp_path)
    identity = Identity()
    account = str(uuid.uuid4())
    token, session_id, started = identity.log_in(account)
    short, _, started_short = identity.log_in(account, session_ttl=0.2)
    await runner.apply_batch([started, started_short])
    assert not await refused(auth, short)
    await asyncio.sleep(0.3)
    assert await refused(auth, short)  # the session expired, though the token has not
    assert await refused(auth, token + "x")
    assert await refused(auth, "garbage")
    stolen_sid = issue_access_token(
        SECRET, uuid.uuid4(), session_id, datetime.now(UTC) + timedelta(hours=1), identity.position
    )
    assert await refused(auth, stolen_sid)  # another account cannot use this session id


async def test_fresh_token_waits_for_the_registry_to_catch_up(store: SQLiteReadStore, tmp_path: Path) -> None:
    auth, runner = await start(store, tmp_path)
    identity = Identity()
    account = str(uuid.uuid4())
    token, session_id, started = identity.log_in(account)
    check = asyncio.create_task(auth.authenticate(token))
    await asyncio.sleep(0.05)
    assert not check.done()  # waiting, not refusing: the login is newer than the registry
    await runner.apply_batch([started])
    assert (await check).session_id == session_id
    # A token the registry never learns about is refused after the catch-up time.
    late, _, _ = identity.log_in(account)
    assert await refused(auth, late)


async def test_registry_survives_a_restart(store: SQLiteReadStore, tmp_path: Path) -> None:
    _, runner = await start(store, tmp_path)
    identity = Identity()
    account = str(uuid.uuid4())
    kept, _, started_kept = identity.log_in(account)
    gone, gone_sid, started_gone = identity.log_in(account)
    ended = identity.record(account, SessionEndedV1(account_id=account, session_id=gone_sid))
    await runner.apply_batch([started_kept, started_gone, ended])

    restarted, _ = await start(store, tmp_path)  # a new process: warmed from the read store
    assert (await restarted.authenticate(kept)).account_id == account
    assert await refused(restarted, gone)


def request(method: str, cookie: str | None, header: str | None) -> Request:
    headers = []
    if cookie is not None:
        headers.append((b"cookie", f"{CSRF_COOKIE}={cookie}".encode()))
    if header is not None:
        headers.append((CSRF_HEADER.encode(), header.encode()))
    return Request({"type": "http", "method": method, "path": "/", "headers": headers, "query_string": b""})


@pytest.mark.parametrize(
    ("method", "cookie", "header", "ok"),
    [
        ("GET", None, None, True),
        ("POST", "abc", "abc", True),
        ("POST", "abc", None, False),
        ("POST", None, "abc", False),
        ("DELETE", "abc", "abd", False),
        ("PATCH", "", "", False),
    ],
)
def test_check_csrf(method: str, cookie: str | None, header: str | None, ok: bool) -> None:
    if ok:
        check_csrf(request(method, cookie, header))
        return
    with pytest.raises(ApiError) as info:
        check_csrf(request(method, cookie, header))
    assert (info.value.status, info.value.code) == (403, "csrf_failed")


async def test_each_refusal_is_a_fresh_error(store: SQLiteReadStore, tmp_path: Path) -> None:
    auth, _ = await start(store, tmp_path)
    errors = []
    for token in ("first-garbage-token", "second-garbage-token"):
        with pytest.raises(ApiError) as info:
            await auth.authenticate(token)
        errors.append(info.value)
    assert errors[0] is not errors[1]


async def test_a_login_the_registry_has_not_seen_is_asked_of_identity(
    store: SQLiteReadStore, tmp_path: Path
) -> None:
    """The transport is down: a token minted seconds ago is not refused, identity is asked;
    once the registry has the login (and the logout), identity's old answer no longer counts."""
    auth, runner = await start(store, tmp_path)
    identity = Identity()
    account = str(uuid.uuid4())
    _, session_id, started = identity.log_in(account)
    token = issue_access_token(
        SECRET, uuid.UUID(account), session_id, datetime.now(UTC) + timedelta(hours=1), 1, sequence=1
    )
    asked: list[str] = []

    async def ask(asked_token: str) -> Principal | None:
        asked.append(asked_token)
        return Principal(account, session_id, "consumer", ("consumer",))

    auth.ask_identity = ask
    principal = await auth.authenticate(token)
    assert principal.account_id == account and asked == [token]
    await auth.authenticate(token)
    assert asked == [token]  # remembered for a few seconds, not asked per request
    # The transport is back: the login and then the logout reach the registry.
    await runner.apply_batch([started])
    await runner.apply_batch(
        [identity.record(account, SessionEndedV1(account_id=account, session_id=session_id))]
    )
    assert await refused(auth, token)


async def test_identity_refusing_the_token_is_final(store: SQLiteReadStore, tmp_path: Path) -> None:
    auth, _ = await start(store, tmp_path)
    account = str(uuid.uuid4())

    async def ask(_: str) -> Principal | None:
        return None

    auth.ask_identity = ask
    token = issue_access_token(
        SECRET, uuid.UUID(account), "s1", datetime.now(UTC) + timedelta(hours=1), 1, sequence=1
    )
    assert await refused(auth, token)
