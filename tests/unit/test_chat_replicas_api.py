"""Two instances of the chat service (two ASGI apps from the service builder, as two replicas)
on one event store and one bus: the embedded default's SQLite files and the real stack's
PostgreSQL and Kafka. A socket held by one receives, once and in order, what is posted through
the other; the flood limit counts the messages of both; on the stack, typing and presence cross
over too (PostgreSQL NOTIFY). Services/chat/follow.py and live.py."""

from __future__ import annotations

import asyncio
import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from services.chat.main import create_app
from shared.settings import Settings
from shared.transport import Transport, build_transport
from tests.unit.test_chat_api import SECRET, Party, World, frames_until, messages_path

POSTGRES = os.environ.get("LK_POSTGRES_DSN", "postgresql://lk:lk@127.0.0.1:5432/lk")


class Bus:
    """The other services' events, published through the mode's own transport (a loop of its own)."""

    def __init__(self, settings: Settings) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.transport: Transport = build_transport(settings)
        self.call(self.transport.start())

    def call(self, work: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(30)

    def close(self) -> None:
        self.call(self.transport.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


class TwoWorld(World):
    bus: Bus

    def write(self, topic: str, key: str, value: bytes) -> None:
        self.bus.call(self.bus.transport.publish(topic, [(key, value)]))


@pytest.fixture(params=["embedded", "stack"])
def two(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[TwoWorld, TestClient]]:
    """The world as seen through replica A (``world.http``), and replica B."""
    database = None
    common: dict[str, Any] = {"var_dir": tmp_path, "secret_key": SECRET, "poll_interval": 0.01}
    if request.param == "embedded":
        settings = Settings(mode="embedded", chat_follow=True, **common)
    else:
        tag = uuid.uuid4().hex[:10]
        database = f"lk_chat_{tag}"
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{database}"')
        dsn = urlunsplit(urlsplit(POSTGRES)._replace(path=f"/{database}"))
        settings = Settings(mode="stack", postgres_dsn=dsn, topic_prefix=f"t{tag}.", **common)
    bus = Bus(settings)
    try:
        with TestClient(create_app(settings)) as a, TestClient(create_app(settings)) as b:
            world = TwoWorld(settings, a)
            world.bus = bus
            yield world, b
    finally:
        bus.close()
        if database is not None:
            with psycopg.connect(POSTGRES, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def post(http: TestClient, who: Party, application_id: str, **body: Any) -> Any:
    return http.post(messages_path(application_id), headers=who.auth, json=body)


def socket(http: TestClient, who: Party, application_id: str) -> Any:
    return http.websocket_connect(f"/api/v1/applications/{application_id}/chat/ws", headers=who.auth)


def messages_of(frames: list[dict[str, Any]]) -> list[int]:
    return [f["message"]["seq"] for f in frames if f["type"] == "message"]


def until_messages(ws: WebSocketTestSession, last: int) -> list[dict[str, Any]]:
    """Frames up to the message ``last`` (a frame after it would show a duplicate: see the caller)."""
    seen: list[dict[str, Any]] = []
    while not seen or seen[-1]["type"] != "message" or seen[-1]["message"]["seq"] < last:
        seen.append(ws.receive_json())
    return seen


def test_a_socket_on_one_replica_gets_what_is_posted_through_the_other(
    two: tuple[TwoWorld, TestClient],
) -> None:
    world, b = two
    a = world.http
    anna, staff = world.account("anna"), world.account("staff", staff=True)
    application = world.application(anna)
    assert post(a, anna, application, text="до подключения").status_code == 201
    with socket(b, staff, application) as staff_on_b, socket(a, anna, application) as anna_on_a:
        assert messages_of(frames_until(staff_on_b, "ready")) == [1]
        frames_until(anna_on_a, "ready")
        # Posted through A, B's socket has it; then alternately, and as the page posts (a frame).
        for i in range(2, 12):
            if i % 3 == 0:
                anna_on_a.send_json({"type": "send", "client_id": uuid.uuid4().hex, "text": f"кадром {i}"})
            else:
                assert post(a if i % 2 else b, anna, application, text=f"сообщение {i}").status_code == 201
        frames = until_messages(staff_on_b, 11)
        assert messages_of(frames) == list(range(2, 12))  # each once, in order
        assert [m["text"] for m in (f["message"] for f in frames if f["type"] == "message")][
            -1
        ] == "сообщение 11"

        # A read receipt through A reaches B's socket once.
        read = a.post(f"{messages_path(application)}/read", headers=staff.auth, json={"up_to_seq": 11})
        assert read.status_code == 200, read.text
        receipt = frames_until(anna_on_a, "read")[-1]
        assert (receipt["reader_role"], receipt["up_to_seq"]) == ("staff", 11)
        # B's staff posts: A's applicant has it, after nothing repeated on B.
        staff_on_b.send_json({"type": "send", "client_id": uuid.uuid4().hex, "text": "ответ с B"})
        after = frames_until(staff_on_b, "ack")
        assert messages_of(after) == [12] and after[-1]["seq"] == 12
        assert messages_of(until_messages(anna_on_a, 12))[-1] == 12
        if world.settings.mode == "stack":  # typing crosses replicas over PostgreSQL NOTIFY
            staff_on_b.send_json({"type": "typing"})
            assert frames_until(anna_on_a, "typing")[-1]["author_role"] == "staff"

    # What either replica answers is the same thread.
    for http in (a, b):
        items = http.get(messages_path(application), headers=anna.auth, params={"limit": 200}).json()["items"]
        assert [m["seq"] for m in items] == list(range(1, 13))


def test_the_21st_message_through_alternating_replicas_is_refused(two: tuple[TwoWorld, TestClient]) -> None:
    world, b = two
    a = world.http
    anna = world.account("anna")
    application = world.application(anna)
    statuses = [post((a, b)[i % 2], anna, application, text=f"флуд {i}").status_code for i in range(21)]
    assert statuses == [201] * 20 + [429]
    for http in (a, b):
        refused = post(http, anna, application, text="ещё")
        assert refused.status_code == 429 and refused.json()["code"] == "too_many_messages"
        assert 1 <= int(refused.headers["retry-after"]) <= 10


def test_presence_is_shared_on_the_stack(two: tuple[TwoWorld, TestClient]) -> None:
    world, b = two
    if world.settings.mode != "stack":
        pytest.skip("the embedded default is one process: presence of its own sockets only")
    a = world.http
    anna, staff = world.account("anna"), world.account("staff", staff=True)
    application = world.application(anna)
    assert post(a, anna, application, text="есть кто?").status_code == 201
    with socket(a, anna, application) as anna_on_a:
        ready = frames_until(anna_on_a, "ready")[-1]
        assert ready["presence"]["staff_online"] is False
        with socket(b, staff, application):  # staff opens the chat on the other replica
            frames = frames_until(anna_on_a, "presence")
            assert frames[-1]["staff_online"] is True
            deadline = time.monotonic() + 10
            while not a.get(f"/api/v1/applications/{application}/presence", headers=anna.auth).json()[
                "staff_online"
            ]:
                assert time.monotonic() < deadline, "replica A never heard of B's staff socket"
                time.sleep(0.05)
