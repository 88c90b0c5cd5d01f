"""Two chat replicas (two ChatApps) writing one real event store — a SQLite file and PostgreSQL:
the store decides between their commands, and a command that lost the race reloads its thread
and decides again, so nothing is lost, numbered twice or posted twice (services/chat/app.py)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from services.chat.app import Author, ChatApp, Message
from services.chat.limiter import FloodLimit
from shared.errors import TooMany
from shared.settings import Settings
from tests.contract.conftest import POSTGRES

ANNA = Author("anna-id", "consumer", "Анна")
STAFF = Author("staff-id", "staff", "Мария Иванова")


@pytest.fixture(params=["sqlite", "postgres"])
def replicas(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[ChatApp, ChatApp]]:
    """Two ChatApps, as two processes would have, on one store."""
    database = None
    if request.param == "sqlite":
        settings = Settings(mode="embedded", var_dir=tmp_path, secret_key="s" * 32)
    else:
        database = f"lk_chat_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{database}"')
        dsn = urlunsplit(urlsplit(POSTGRES)._replace(path=f"/{database}"))
        settings = Settings(mode="stack", var_dir=tmp_path, secret_key="s" * 32, postgres_dsn=dsn)
    apps = (ChatApp(settings), ChatApp(settings))
    try:
        yield apps
    finally:
        for app in apps:
            app.close()
        if database is not None:
            with psycopg.connect(POSTGRES, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _stored(app: ChatApp, thread: uuid.UUID) -> list[Message]:
    app.forget(thread)
    return app.history(thread, limit=1000)[0]


def test_concurrent_posts_through_two_replicas_are_each_stored_once(
    replicas: tuple[ChatApp, ChatApp],
) -> None:
    a, b = replicas
    for app in replicas:
        app.flood = FloodLimit(10_000, 10.0)
    thread = uuid.uuid4()
    per_worker, workers = 15, 4
    answers: dict[str, tuple[Message, bool]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(workers)

    def post(app: ChatApp, worker: int) -> None:
        start.wait()
        for i in range(per_worker):
            key = f"w{worker}-{i}"
            try:
                # Both replicas' caches go stale as the other writes: every save may lose.
                answers[key] = app.post(thread, ANNA.account_id, ANNA, key, [], client_id=key)
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=post, args=(a if w % 2 else b, w)) for w in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    stored = _stored(a, thread)
    total = per_worker * workers
    assert [m["seq"] for m in stored] == list(range(1, total + 1))  # no gap, nothing twice
    assert sorted(m["client_id"] or "" for m in stored) == sorted(answers)  # each message once
    for key, (message, created) in answers.items():
        assert created and message == next(m for m in stored if m["client_id"] == key)
    assert a.conflicts + b.conflicts > 0, "the replicas never raced: the test proved nothing"
    # The other replica reads the same, and its next post goes on from there.
    assert [m["seq"] for m in _stored(b, thread)] == list(range(1, total + 1))
    assert b.post(thread, ANNA.account_id, STAFF, "ответ", [])[0]["seq"] == total + 1


def test_a_repeat_through_the_other_replica_answers_the_first_message(
    replicas: tuple[ChatApp, ChatApp],
) -> None:
    a, b = replicas
    thread = uuid.uuid4()
    a.post(thread, ANNA.account_id, ANNA, "первое", [])
    b.post(thread, ANNA.account_id, ANNA, "второе", [])  # b's cache has the thread now
    first, created = a.post(thread, ANNA.account_id, ANNA, "с ключом", [], client_id="key-1")
    assert created and first["seq"] == 3
    # b's cached copy does not know the key; its save loses to a's event, it reloads the thread
    # and finds the key stored by the other replica: the first message is the answer.
    again, repeated = b.post(thread, ANNA.account_id, ANNA, "с ключом", [], client_id="key-1")
    assert not repeated and again == first and b.conflicts == 1
    assert [m["seq"] for m in _stored(b, thread)] == [1, 2, 3]


def test_the_flood_limit_counts_the_messages_of_every_replica(replicas: tuple[ChatApp, ChatApp]) -> None:
    a, b = replicas
    thread = uuid.uuid4()
    for i in range(20):
        (a, b)[i % 2].post(thread, ANNA.account_id, ANNA, f"сообщение {i + 1}", [])
    for app in replicas:
        with pytest.raises(TooMany) as refused:
            app.post(thread, ANNA.account_id, ANNA, "двадцать первое", [])
        assert refused.value.code == "too_many_messages" and 1 <= (refused.value.retry_after or 0) <= 10
    assert len(_stored(a, thread)) == 20
    # Someone else in the same thread is not limited by it.
    assert b.post(thread, ANNA.account_id, STAFF, "ответ", [])[0]["seq"] == 21
