"""The chat service in-process (TestClient), fed with the other services' public events
through the embedded transport: history, posting, receipts, counters, access, bad input,
the live socket and resume."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from services.chat.main import create_app
from services.identity.tokens import issue_access_token
from shared.chatlink import link_key
from shared.events import (
    AccountRegisteredV1,
    ApplicationSubmittedV1,
    DocumentRef,
    FileUploadedV1,
    ProfileUpdatedV1,
    PublicEvent,
    SessionStartedV1,
)
from shared.settings import Settings

SECRET = "c" * 32


@dataclass
class World:
    """Plays identity, applications and files: their events go onto the embedded bus."""

    settings: Settings
    http: TestClient
    positions: dict[str, int] = field(default_factory=dict)
    sequences: dict[str, int] = field(default_factory=dict)

    def emit(self, service: str, subject: str, payload: PublicEvent) -> None:
        self.positions[service] = self.positions.get(service, 0) + 1
        self.sequences[subject] = self.sequences.get(subject, 0) + 1
        envelope = payload.envelope(
            source=service,
            subject=subject,
            sequence=self.sequences[subject],
            position=self.positions[service],
        )
        self.write(self.settings.topic(service), subject, envelope.to_bytes())

    def write(self, topic: str, key: str, value: bytes) -> None:
        """One record onto the embedded bus, as the service's relay would."""
        with sqlite3.connect(self.settings.var_dir / "bus.sqlite", timeout=30) as conn:
            conn.execute(
                "INSERT INTO messages (topic, offs, key, value) VALUES (?, (SELECT COALESCE(MAX(offs), -1) + 1"
                " FROM messages WHERE topic = ?), ?, ?)",
                (topic, topic, key, value),
            )

    def account(self, name: str, *, staff: bool = False) -> Party:
        account_id = str(uuid.uuid4())
        roles = ["staff"] if staff else ["consumer"]
        login = f"{name}_{account_id[:6]}"
        self.emit(
            "identity",
            account_id,
            AccountRegisteredV1(
                account_id=account_id,
                login=login,
                email=f"{login}@example.ru",
                account_type="staff" if staff else "consumer",
                roles=roles,
            ),
        )
        session_id = uuid.uuid4().hex
        expires = datetime.now(UTC) + timedelta(hours=1)
        self.emit(
            "identity",
            account_id,
            SessionStartedV1(
                account_id=account_id,
                session_id=session_id,
                expires_at=expires,
                account_type="staff" if staff else "consumer",
                roles=roles,
            ),
        )
        token = issue_access_token(
            SECRET, uuid.UUID(account_id), session_id, expires, self.positions["identity"]
        )
        return Party(account_id, login, token)

    def application(self, applicant: Party) -> str:
        application_id = str(uuid.uuid4())
        self.emit(
            "applications",
            application_id,
            ApplicationSubmittedV1(
                application_id=application_id,
                number=f"ТП-{application_id[:6]}",
                applicant_id=applicant.account_id,
                applicant_email=f"{applicant.login}@example.ru",
                applicant_name=applicant.login,
                type_code="individual_15kw",
                type_title="Физическое лицо до 15 кВт",
                power_kw=10,
                object_address="Москва, ул. Ленина, 1",
                documents=[DocumentRef(slot="archive", file_id=str(uuid.uuid4()))],
            ),
        )
        return application_id

    def file(self, owner: Party, name: str = "схема.pdf") -> str:
        file_id = str(uuid.uuid4())
        self.emit(
            "files",
            file_id,
            FileUploadedV1(
                file_id=file_id,
                owner_id=owner.account_id,
                name=name,
                size=1234,
                content_type="application/pdf",
                sha256="0" * 64,
            ),
        )
        return file_id


@dataclass
class Party:
    account_id: str
    login: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    settings = Settings(mode="embedded", var_dir=tmp_path, secret_key=SECRET, poll_interval=0.01)
    with TestClient(create_app(settings)) as http:
        yield World(settings, http)


def messages_path(application_id: str) -> str:
    return f"/api/v1/applications/{application_id}/messages"


def post(world: World, who: Party, application_id: str, **body: Any) -> Any:
    return world.http.post(messages_path(application_id), headers=who.auth, json=body)


def frames_until(ws: WebSocketTestSession, kind: str) -> list[dict[str, Any]]:
    seen = []
    while True:
        frame = ws.receive_json()
        seen.append(frame)
        if frame["type"] == kind:
            return seen


def test_exchange_history_receipts_and_counters(world: World) -> None:
    anna, staff = world.account("anna"), world.account("ivanova", staff=True)
    application = world.application(anna)
    world.emit(
        "identity",
        staff.account_id,
        ProfileUpdatedV1(
            account_id=staff.account_id, first_name="Мария", last_name="Иванова", display_name="Мария Иванова"
        ),
    )
    first = post(world, anna, application, text="  Здравствуйте!\r\nКогда будет договор?  ")
    assert first.status_code == 201, first.text
    assert first.json()["seq"] == 1 and first.json()["text"] == "Здравствуйте!\nКогда будет договор?"
    assert first.json()["author_role"] == "consumer"
    time.sleep(0.2)  # the staff name arrives through identity.events
    answer = post(world, staff, application, text="Договор будет готов завтра.")
    assert answer.status_code == 201 and answer.json()["seq"] == 2
    assert answer.json()["author_name"] == "Мария Иванова"

    chat = world.http.get(f"/api/v1/applications/{application}/chat", headers=anna.auth).json()
    assert (chat["unread"], chat["last_seq"], chat["other_read_up_to"]) == (1, 2, 0)
    assert (
        world.http.get(f"/api/v1/applications/{application}/chat", headers=staff.auth).json()["unread"] == 1
    )

    read = world.http.post(f"{messages_path(application)}/read", headers=anna.auth, json={"up_to_seq": 2})
    assert read.status_code == 200 and read.json()["unread"] == 0
    assert world.http.get(f"/api/v1/applications/{application}/chat", headers=anna.auth).json()["unread"] == 0
    staff_view = world.http.get(f"/api/v1/applications/{application}/chat", headers=staff.auth).json()
    assert staff_view["other_read_up_to"] == 2 and staff_view["unread"] == 1
    beyond = world.http.post(f"{messages_path(application)}/read", headers=anna.auth, json={"up_to_seq": 3})
    assert beyond.status_code == 422 and beyond.json()["code"] == "beyond_last_message"

    for i in range(3, 8):
        assert post(world, staff, application, text=f"сообщение {i}").status_code == 201
    page = world.http.get(
        messages_path(application), headers=anna.auth, params={"after": 2, "limit": 3}
    ).json()
    assert [m["seq"] for m in page["items"]] == [3, 4, 5] and page["has_more"] and page["last_seq"] == 7
    latest = world.http.get(messages_path(application), headers=anna.auth, params={"before": 8, "limit": 2})
    assert [m["seq"] for m in latest.json()["items"]] == [6, 7] and latest.json()["has_earlier"]
    everything = world.http.get(messages_path(application), headers=anna.auth, params={"limit": 200}).json()
    assert [m["seq"] for m in everything["items"]] == list(range(1, 8))
    assert everything["read"] == {"consumer": 2, "staff": 0}


def test_access_rules(world: World) -> None:
    anna, boris, staff = world.account("anna"), world.account("boris"), world.account("staff", staff=True)
    application = world.application(anna)
    assert post(world, anna, application, text="вопрос").status_code == 201
    for path in (messages_path(application), f"/api/v1/applications/{application}/chat"):
        hidden = world.http.get(path, headers=boris.auth)
        assert hidden.status_code == 404 and hidden.json()["code"] == "not_found"
        assert world.http.get(path, headers=staff.auth).status_code == 200
    assert post(world, boris, application, text="чужая заявка").status_code == 404
    assert world.http.get(messages_path("not-a-uuid"), headers=anna.auth).status_code == 404
    assert world.http.get(messages_path(application)).status_code == 401
    assert (
        world.http.get(messages_path(application), headers={"Authorization": "Bearer junk"}).status_code
        == 401
    )
    assert [
        m["text"] for m in world.http.get(messages_path(application), headers=anna.auth).json()["items"]
    ] == ["вопрос"]


def test_someone_elses_chat_is_refused_like_an_unknown_one(world: World) -> None:
    """The same answer after the same work: the directory looks a foreign application up as
    often as an unknown one (the old code answered the first at once, from its memo, and
    polled 60 times for the second)."""
    anna, boris = world.account("anna"), world.account("boris")
    application = world.application(anna)
    assert post(world, anna, application, text="вопрос").status_code == 201  # memoised, as in service
    state = world.http.app.state.service  # type: ignore[attr-defined]
    deadline = time.monotonic() + 10
    while any(
        state.references.applied.get(source, 0) < world.positions[source] for source in world.positions
    ):
        assert time.monotonic() < deadline, "references never caught up"
        time.sleep(0.02)
    lookups: Counter[str] = Counter()
    real = state.directory.store

    class Counting:
        async def fetchrow(self, sql: str, *args: Any) -> Any:
            lookups[str(args[0])] += 1
            return await real.fetchrow(sql, *args)

    class Virtual:
        """The directory's clock and sleep on virtual time: both waits take the same turns
        however the machine is loaded (on real time a busy moment gave one look more)."""

        now = 0.0

        def clock(self) -> float:
            return self.now

        async def sleep(self, seconds: float) -> None:
            self.now += seconds
            await asyncio.sleep(0)

    virtual = Virtual()
    state.directory.store = Counting()
    state.directory.clock, state.directory.sleep = virtual.clock, virtual.sleep
    unknown = str(uuid.uuid4())
    foreign = world.http.get(messages_path(application), headers=boris.auth)
    missing = world.http.get(messages_path(unknown), headers=boris.auth)
    assert (foreign.status_code, foreign.content) == (missing.status_code, missing.content)
    assert foreign.status_code == 404 and foreign.json()["code"] == "not_found"
    assert lookups[application] == lookups[unknown] >= 1


def test_bad_input_is_refused_whole(world: World) -> None:
    anna, boris, staff = world.account("anna"), world.account("boris"), world.account("staff", staff=True)
    application = world.application(anna)
    borrowed = world.file(boris)
    mine = world.file(anna)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"text": ""}, 422, "empty_message"),
        ({"text": "   \n\t "}, 422, "empty_message"),
        ({"text": "я" * 4001}, 422, "text_too_long"),
        ({"text": "x" * 20000}, 422, "validation_error"),
        ({"text": "bell\x07"}, 422, "invalid_text"),
        ({"text": 5}, 422, "validation_error"),
        ({"text": "ok", "attachments": [borrowed]}, 422, "file_not_found"),
        ({"text": "ok", "attachments": [mine, borrowed]}, 422, "file_not_found"),
        ({"text": "ok", "unknown": 1}, 422, "validation_error"),
        ({"text": "ok", "client_id": "<script>"}, 422, "validation_error"),
    ]
    for body, status, code in cases:
        answer = post(world, anna, application, **body)
        assert (answer.status_code, answer.json()["code"]) == (status, code), (body, answer.text)
    assert world.http.get(messages_path(application), headers=anna.auth).json()["items"] == []  # nothing half

    exact = post(world, anna, application, text="я" * 4000, attachments=[mine, mine])
    assert exact.status_code == 201
    assert [a["id"] for a in exact.json()["attachments"]] == [mine]
    assert exact.json()["attachments"][0]["name"] == "схема.pdf"
    only_file = post(world, staff, application, attachments=[world.file(staff, "договор.pdf")])
    assert only_file.status_code == 201 and only_file.json()["text"] == ""
    markup = '<script>alert("x")</script><b>жирный</b>'
    assert post(world, anna, application, text=markup).json()["text"] == markup


def test_idempotency_and_rate_limit(world: World) -> None:
    anna, staff = world.account("anna"), world.account("staff", staff=True)
    application = world.application(anna)
    key = uuid.uuid4().hex
    first = post(world, anna, application, text="один раз", client_id=key)
    again = post(world, anna, application, text="один раз", client_id=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["seq"] == first.json()["seq"] == 1
    statuses = [post(world, anna, application, text=f"флуд {i}").status_code for i in range(25)]
    assert statuses[:19] == [201] * 19 and set(statuses[19:]) == {429}
    limited = post(world, anna, application, text="ещё")
    assert limited.json()["code"] == "too_many_messages" and 1 <= int(limited.headers["retry-after"]) <= 10
    assert post(world, staff, application, text="сотрудник не ограничен флудом заявителя").status_code == 201
    # The repeated key of an already posted message is still answered while limited.
    assert post(world, anna, application, text="один раз", client_id=key).status_code == 200
    items = world.http.get(messages_path(application), headers=anna.auth, params={"limit": 200}).json()[
        "items"
    ]
    assert len(items) == 21 and [m["seq"] for m in items] == list(range(1, 22))


def test_socket_live_push_typing_receipts_and_resume(world: World) -> None:
    anna, staff = world.account("anna"), world.account("staff", staff=True)
    application = world.application(anna)
    for i in range(1, 4):
        post(world, anna, application, text=f"до подключения {i}")
    path = f"/api/v1/applications/{application}/chat/ws"
    with (
        world.http.websocket_connect(f"{path}?after=1", headers=staff.auth) as staff_ws,
        world.http.websocket_connect(f"{path}?access_token={anna.token}&after=3") as anna_ws,
    ):
        history = frames_until(staff_ws, "ready")
        assert [f["message"]["seq"] for f in history if f["type"] == "message"] == [2, 3]
        assert history[-1]["last_seq"] == 3
        frames_until(anna_ws, "ready")

        anna_ws.send_json({"type": "typing"})
        assert frames_until(staff_ws, "typing")[-1]["author_role"] == "consumer"

        key = uuid.uuid4().hex
        anna_ws.send_json({"type": "send", "client_id": key, "text": "<b>живое</b>"})
        live = frames_until(staff_ws, "message")[-1]["message"]
        assert (live["seq"], live["text"], live["client_id"]) == (4, "<b>живое</b>", key)
        own = frames_until(anna_ws, "message")[-1]["message"]
        assert own["seq"] == 4
        ack = frames_until(anna_ws, "ack")[-1]
        assert ack == {"type": "ack", "client_id": key, "id": live["id"], "seq": 4, "duplicate": False}
        anna_ws.send_json({"type": "send", "client_id": key, "text": "<b>живое</b>"})  # the queue resends
        assert frames_until(anna_ws, "ack")[-1]["duplicate"] is True

        staff_ws.send_json({"type": "read", "up_to_seq": 4})
        receipt = frames_until(anna_ws, "read")[-1]
        assert (receipt["reader_role"], receipt["up_to_seq"], receipt["read"]["staff"]) == ("staff", 4, 4)

        anna_ws.send_json({"type": "send", "text": ""})
        assert frames_until(anna_ws, "error")[-1]["code"] == "empty_message"
        anna_ws.send_text("not json")
        assert frames_until(anna_ws, "error")[-1]["code"] == "malformed_json"

    # Resume: messages posted while the socket was away arrive once, in order, then live ones.
    for i in range(5, 8):
        post(world, staff, application, text=f"пока вас не было {i}")
    with world.http.websocket_connect(f"{path}?after=4", headers=anna.auth) as anna_ws:
        resumed = frames_until(anna_ws, "ready")
        assert [f["message"]["seq"] for f in resumed if f["type"] == "message"] == [5, 6, 7]
        post(world, staff, application, text="новое")
        assert frames_until(anna_ws, "message")[-1]["message"]["seq"] == 8


def test_socket_refusals(world: World) -> None:
    anna, boris = world.account("anna"), world.account("boris")
    application = world.application(anna)
    path = f"/api/v1/applications/{application}/chat/ws"
    for headers, code in (({}, 4401), (boris.auth, 4404), ({"Authorization": "Bearer forged"}, 4401)):
        with (
            world.http.websocket_connect(path, headers=headers) as ws,
            pytest.raises(WebSocketDisconnect) as closed,
        ):
            ws.receive_json()
        assert closed.value.code == code
    for after in (2**31 + 1, 2**63, 10**30, "9" * 5000):  # beyond any sequence number
        with (
            world.http.websocket_connect(f"{path}?after={after}", headers=anna.auth) as ws,
            pytest.raises(WebSocketDisconnect) as closed,
        ):
            ws.receive_json()
        assert (closed.value.code, closed.value.reason) == (4422, "validation_error")
    with world.http.websocket_connect(f"{path}?after=junk", headers=anna.auth) as ws:
        assert frames_until(ws, "ready")[-1]["last_seq"] == 0
        for up_to in (2**63, 10**30):
            ws.send_json({"type": "read", "up_to_seq": up_to})
            assert frames_until(ws, "error")[-1]["code"] == "validation_error"


class LinkReader:
    """Reads the link's batched lines into per-channel frames."""

    def __init__(self, ws: WebSocketTestSession) -> None:
        self.ws = ws
        self.frames: dict[str, list[Any]] = {}

    def until(self, done: Callable[[dict[str, list[Any]]], bool]) -> dict[str, list[Any]]:
        while not done(self.frames):
            for line in self.ws.receive_text().split("\n"):
                channel, kind, body = line.split("|", 2)
                self.frames.setdefault(channel, []).append(
                    json.loads(body) if kind == "f" else ("closed", body)
                )
        return self.frames


def kinds(frames: list[Any]) -> list[str]:
    return [f["type"] if isinstance(f, dict) else f[0] for f in frames]


def test_the_gateway_link_carries_many_channels(world: World) -> None:
    anna, boris, staff = world.account("anna"), world.account("boris"), world.account("staff", staff=True)
    application = world.application(anna)
    for text in ("первое", "второе"):
        post(world, anna, application, text=text)
    guess = {"x-chat-link": "guess"}
    with (
        pytest.raises(WebSocketDisconnect),
        world.http.websocket_connect("/internal/chat/link", headers=guess) as ws,
    ):
        ws.receive_text()
    with world.http.websocket_connect("/internal/chat/link", headers={"x-chat-link": link_key(SECRET)}) as ws:
        link = LinkReader(ws)

        def open_(channel: str, who: Party, after: int = 0) -> None:
            spec = {"application_id": application, "token": who.token, "after": after}
            ws.send_text(f"{channel}|o|{json.dumps(spec)}")

        open_("1", anna, after=1)
        open_("2", staff)
        open_("3", boris)
        frames = link.until(lambda f: "ready" in kinds(f.get("1", [])) and "ready" in kinds(f.get("2", [])))
        frames = link.until(lambda f: "closed" in kinds(f.get("3", [])))
        assert [m["message"]["seq"] for m in frames["1"] if m["type"] == "message"] == [2]
        assert [m["message"]["seq"] for m in frames["2"] if m["type"] == "message"] == [1, 2]
        assert frames["3"] == [("closed", "4404:not_found")]

        ws.send_text('1|f|{"type": "send", "client_id": "link-client-0001", "text": "через линк"}')
        frames = link.until(lambda f: "ack" in kinds(f["1"]) and kinds(f["2"]).count("message") == 3)
        assert frames["2"][-1]["message"]["text"] == "через линк"
        ws.send_text("2|x|")
        post(world, staff, application, text="после ухода второго")
        frames = link.until(lambda f: kinds(f["1"]).count("message") == 3)
        assert frames["1"][-1]["message"]["seq"] == 4
        assert kinds(frames["2"]).count("message") == 3  # channel 2 left: nothing more for it
