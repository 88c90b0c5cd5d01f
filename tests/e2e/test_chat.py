"""The chat end to end, one body per mode: two parties live over the gateway's WebSocket,
resume without gap or duplicate, the offline queue's idempotency, unread counters, read
receipts, access rules, files in the chat, the delayed e-mail and its suppression, markup as
text, the rate limit and bad input."""

from __future__ import annotations

import asyncio
import io
import json
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Origin

from tests.conftest import new_person
from tests.e2e.chat_replica import start_chat_replica, stop
from tests.e2e.helpers import log_in, register_and_confirm
from tests.e2e.process_steps import advance
from tests.e2e.test_identity_complete import NEW_PASSWORD, create_staff
from tests.harness import System

# tests/harness.py starts every system with these: chat e-mails after 3 s instead of
# 10 minutes, and a staff desk address.
CHAT_MAIL_DELAY = 3.0
STAFF_DESK = "chat-desk@grid.example.ru"


@dataclass
class Side:
    login: str
    email: str
    password: str
    auth: dict[str, str]
    account_id: str

    @property
    def token(self) -> str:
        return self.auth["Authorization"].removeprefix("Bearer ")


@dataclass
class Parties:
    consumer: Side
    staff: Side
    stranger: Side


def side_of(http: httpx.Client, login: str, email: str, password: str) -> Side:
    auth = log_in(http, login, password)
    return Side(login, email, password, auth, http.get("/api/v1/me", headers=auth).json()["id"])


@pytest.fixture(scope="module")
def parties(system: System) -> Parties:
    """An applicant, a staff member (``lk admin create-staff``) and another consumer, logged in via the API."""
    consumer, stranger, staff = new_person(), new_person(), new_person()
    create_staff(system, staff.login, staff.email)
    with system.client() as http:
        register_and_confirm(system, http, consumer)
        register_and_confirm(system, http, stranger)
        return Parties(
            side_of(http, consumer.login, consumer.email, consumer.password),
            side_of(http, staff.login, staff.email, NEW_PASSWORD),
            side_of(http, stranger.login, stranger.email, stranger.password),
        )


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("Документы/план.txt", "План участка".encode())
    return buffer.getvalue()


def upload(http: httpx.Client, side: Side, name: str, content: bytes, content_type: str) -> str:
    answer = http.post("/api/v1/files", headers=side.auth, files={"file": (name, content, content_type)})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def new_application(http: httpx.Client, side: Side) -> str:
    archive = upload(http, side, "Документы.zip", zip_bytes(), "application/zip")
    answer = http.post(
        "/api/v1/applications",
        headers=side.auth,
        json={
            "type_code": "individual_15kw",
            "power_kw": 10,
            "object_address": "Московская обл., д. Берёзки, ул. Полевая, 7",
            "contact": {"phone": "+7 900 123-45-67", "email": side.email},
            "documents": [{"slot": "archive", "file_id": archive}],
        },
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def messages(application_id: str) -> str:
    return f"/api/v1/applications/{application_id}/messages"


def say(http: httpx.Client, side: Side, application_id: str, text: str, **extra: Any) -> httpx.Response:
    return http.post(messages(application_id), headers=side.auth, json={"text": text, **extra})


def ws_url(system: System, application_id: str | uuid.UUID, **query: Any) -> str:
    base = system.base_url.replace("http://", "ws://")
    params = "&".join(f"{k}={v}" for k, v in query.items())
    return f"{base}/api/v1/applications/{application_id}/chat/ws" + (f"?{params}" if params else "")


async def until(
    ws: ClientConnection, done: Callable[[dict[str, Any]], bool], timeout: float = 15
) -> list[Any]:
    """Frames up to and including the first for which ``done`` holds."""
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await ws.recv())
            seen.append(frame)
            if done(frame):
                return seen


def kind(name: str) -> Callable[[dict[str, Any]], bool]:
    return lambda frame: frame["type"] == name


def wait(check: Callable[[], bool], timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_two_parties_chat_live_over_the_gateway_socket(system: System, parties: Parties) -> None:
    with system.client() as http:
        application = new_application(http, parties.consumer)
        assert say(http, parties.consumer, application, "Здравствуйте! Подскажите сроки.").status_code == 201

    async def scenario() -> None:
        consumer_url = ws_url(system, application, access_token=parties.consumer.token, after=0)
        async with (
            connect(consumer_url) as consumer,
            connect(ws_url(system, application), additional_headers=parties.staff.auth) as staff,
        ):
            history = await until(consumer, kind("ready"))
            assert [f["message"]["text"] for f in history if f["type"] == "message"] == [
                "Здравствуйте! Подскажите сроки."
            ]
            await until(staff, kind("ready"))

            await staff.send(json.dumps({"type": "typing"}))
            typing = (await until(consumer, kind("typing")))[-1]
            assert typing["author_role"] == "staff"

            key = uuid.uuid4().hex
            await staff.send(
                json.dumps({"type": "send", "client_id": key, "text": "Договор — в течение 10 дней."})
            )
            live = (await until(consumer, kind("message")))[-1]["message"]
            assert (live["seq"], live["author_role"], live["text"]) == (
                2,
                "staff",
                "Договор — в течение 10 дней.",
            )
            assert (await until(staff, kind("ack")))[-1]["seq"] == 2

            with httpx.Client(base_url=system.base_url) as http:
                answer = say(http, parties.consumer, application, "Спасибо!")
                assert answer.status_code == 201
            assert (await until(staff, kind("message")))[-1]["message"]["text"] == "Спасибо!"

            await consumer.send(json.dumps({"type": "read", "up_to_seq": 2}))
            receipt = (await until(staff, kind("read")))[-1]
            assert (receipt["reader_role"], receipt["up_to_seq"], receipt["read"]["consumer"]) == (
                "consumer",
                2,
                2,
            )
            presence = [f for f in await until(consumer, kind("read")) if f["type"] == "presence"]
            assert all(f["staff_online"] for f in presence)

    asyncio.run(scenario())
    with system.client() as http:
        staff_view = http.get(f"/api/v1/applications/{application}/presence", headers=parties.consumer.auth)
        assert staff_view.status_code == 200 and staff_view.json()["staff_last_seen"]


def test_socket_authentication_origin_and_access(system: System, parties: Parties) -> None:
    with system.client() as http:
        application = new_application(http, parties.consumer)
        cookies = httpx.Client(base_url=system.base_url)
        log_in(cookies, parties.consumer.login, parties.consumer.password)
        session = cookies.cookies["lk_session"]
        cookies.close()

    async def closed_with(url: str, **kwargs: Any) -> int:
        async with connect(url, **kwargs) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await until(ws, kind("ready"), timeout=10)
            assert closed.value.rcvd is not None
            return closed.value.rcvd.code

    async def scenario() -> None:
        url = ws_url(system, application)
        assert await closed_with(url) == 4401
        assert await closed_with(ws_url(system, application, access_token="forged")) == 4401
        assert await closed_with(url, additional_headers=parties.stranger.auth) == 4404
        assert (
            await closed_with(ws_url(system, uuid.uuid4()), additional_headers=parties.consumer.auth) == 4404
        )
        cookie = {"Cookie": f"lk_session={session}"}
        with pytest.raises(InvalidStatus) as refused:  # cross-site: the handshake itself is refused
            async with connect(url, additional_headers=cookie, origin=Origin("https://evil.example")):
                pass
        assert refused.value.response.status_code == 403
        with pytest.raises(InvalidStatus):
            async with connect(url, additional_headers=cookie):
                pass  # no Origin with a cookie: refused too
        async with connect(url, additional_headers=cookie, origin=Origin(system.base_url)) as ws:
            assert (await until(ws, kind("ready")))[-1]["last_seq"] == 0

    asyncio.run(scenario())


def test_reconnect_resumes_without_gap_or_duplicate(system: System, parties: Parties) -> None:
    """Two authors post 36 messages while the reader keeps dropping and resuming."""
    with system.client() as http:
        application = new_application(http, parties.consumer)
    total = 36

    async def scenario() -> list[int]:
        async def post_all() -> None:
            async with httpx.AsyncClient(base_url=system.base_url, timeout=30) as http:
                for i in range(total):
                    side = parties.staff if i % 2 else parties.consumer
                    answer = await http.post(
                        messages(application), headers=side.auth, json={"text": f"№{i + 1}"}
                    )
                    assert answer.status_code == 201, answer.text
                    await asyncio.sleep(0.03)

        poster = asyncio.create_task(post_all())
        seen: list[int] = []
        last, round_ = 0, 0
        while len(seen) < total or not poster.done():
            round_ += 1
            async with connect(
                ws_url(system, application, access_token=parties.staff.token, after=last)
            ) as ws:
                wanted = 1 + round_ % 4  # take a few frames, then drop the connection
                got = 0
                try:
                    async with asyncio.timeout(3):
                        while got < wanted:
                            frame = json.loads(await ws.recv())
                            if frame["type"] == "message":
                                seen.append(frame["message"]["seq"])
                                last = frame["message"]["seq"]
                                got += 1
                except TimeoutError:
                    pass
            assert round_ < 200
        await poster
        return seen

    seen = asyncio.run(scenario())
    assert seen == list(range(1, total + 1))


def test_queued_message_is_posted_once(system: System, parties: Parties) -> None:
    """The page resends its queue after every reconnect with the same client id."""
    with system.client() as http:
        application = new_application(http, parties.consumer)
    key = uuid.uuid4().hex
    frame = json.dumps({"type": "send", "client_id": key, "text": "Написано без связи"})

    async def scenario() -> None:
        url = ws_url(system, application, access_token=parties.consumer.token)
        for attempt in range(3):
            async with connect(url) as ws:
                await until(ws, kind("ready"))
                await ws.send(frame)
                ack = (await until(ws, kind("ack")))[-1]
                assert (ack["seq"], ack["duplicate"]) == (1, attempt > 0)

    asyncio.run(scenario())
    with system.client() as http:
        first = say(http, parties.consumer, application, "Написано без связи", client_id=key)
        assert first.status_code == 200 and first.json()["seq"] == 1
        items = http.get(messages(application), headers=parties.consumer.auth).json()["items"]
        assert [m["text"] for m in items] == ["Написано без связи"]


def test_unread_counters_and_read_receipts(system: System, parties: Parties) -> None:
    with system.client() as http:
        application = new_application(http, parties.consumer)
        chat = f"/api/v1/applications/{application}/chat"
        for text in ("Нужен план участка.", "И копия паспорта.", "Срок — 3 рабочих дня."):
            assert say(http, parties.staff, application, text).status_code == 201
        mine = http.get(chat, headers=parties.consumer.auth).json()
        assert (mine["unread"], mine["last_seq"]) == (3, 3)
        assert http.get(chat, headers=parties.staff.auth).json()["unread"] == 0

        def listed_unread() -> Any:
            rows = http.get("/api/v1/applications", headers=parties.consumer.auth).json()["items"]
            return next(r for r in rows if r["id"] == application).get("unread_messages", "absent")

        if listed_unread() != "absent":  # the field the applications service projects from chat.events
            assert wait(lambda: listed_unread() == 3)

        read = http.post(
            f"{messages(application)}/read", headers=parties.consumer.auth, json={"up_to_seq": 2}
        )
        assert read.status_code == 200 and read.json()["unread"] == 1
        staff_side = http.get(chat, headers=parties.staff.auth).json()
        assert staff_side["other_read_up_to"] == 2 and staff_side["read"] == {"consumer": 2, "staff": 0}
        done = http.post(
            f"{messages(application)}/read", headers=parties.consumer.auth, json={"up_to_seq": 3}
        )
        assert done.status_code == 200
        assert http.get(chat, headers=parties.consumer.auth).json()["unread"] == 0
        if listed_unread() != "absent":
            assert wait(lambda: listed_unread() == 0)

        assert say(http, parties.consumer, application, "Отправил.").status_code == 201
        assert http.get(chat, headers=parties.staff.auth).json()["unread"] == 1
        beyond = http.post(
            f"{messages(application)}/read", headers=parties.staff.auth, json={"up_to_seq": 99}
        )
        assert beyond.status_code == 422 and beyond.json()["code"] == "beyond_last_message"


def test_access_rules_and_files_in_the_chat(system: System, parties: Parties) -> None:
    with system.client() as http:
        application = new_application(http, parties.consumer)
        assert say(http, parties.consumer, application, "Мой вопрос").status_code == 201
        for path in (messages(application), f"/api/v1/applications/{application}/chat"):
            hidden = http.get(path, headers=parties.stranger.auth)
            assert hidden.status_code == 404 and hidden.json()["code"] == "not_found"
            assert http.get(path, headers=parties.staff.auth).status_code == 200
            assert httpx.get(system.base_url + path).status_code == 401
        assert say(http, parties.stranger, application, "чужая").status_code == 404
        assert http.get(messages(str(uuid.uuid4())), headers=parties.staff.auth).status_code == 404

        strangers_file = upload(http, parties.stranger, "чужой.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")
        refused = say(http, parties.consumer, application, "чужой файл", attachments=[strangers_file])
        assert refused.status_code == 422 and refused.json()["code"] == "file_not_found"

        contract = upload(http, parties.staff, "Договор ТП.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")
        sent = say(http, parties.staff, application, "Проект договора во вложении.", attachments=[contract])
        assert sent.status_code == 201, sent.text
        assert sent.json()["attachments"][0]["name"] == "Договор ТП.pdf"
        # The file follows the chat: the applicant may download it, a stranger may not.
        assert wait(
            lambda: http.get(f"/api/v1/files/{contract}", headers=parties.consumer.auth).status_code == 200
        )
        assert http.get(f"/api/v1/files/{contract}", headers=parties.stranger.auth).status_code == 404
        items = http.get(messages(application), headers=parties.stranger.auth)
        assert items.status_code == 404
        texts = [
            m["text"] for m in http.get(messages(application), headers=parties.consumer.auth).json()["items"]
        ]
        assert texts == ["Мой вопрос", "Проект договора во вложении."]


def test_unread_message_is_emailed_once_and_reading_prevents_it(system: System, parties: Parties) -> None:
    with system.client() as http:
        waiting, read_soon = new_application(http, parties.consumer), new_application(http, parties.consumer)
        assert say(http, parties.staff, waiting, "Пришлите, пожалуйста, план участка.").status_code == 201
        assert say(http, parties.staff, read_soon, "Это сообщение прочитают сразу.").status_code == 201
        read = http.post(f"{messages(read_soon)}/read", headers=parties.consumer.auth, json={"up_to_seq": 1})
        assert read.status_code == 200
        assert say(http, parties.consumer, waiting, "Вопрос к сотруднику.").status_code == 201

        def mails(address: str, application_id: str) -> list[Any]:
            link = f"{system.base_url}/applications/{application_id}"
            found = system.mailbox.messages_to(address)
            return [m for m in found if link in m.text and m.subject.startswith("Новое сообщение")]

        assert wait(lambda: len(mails(parties.consumer.email, waiting)) == 1, timeout=30)
        [mail] = mails(parties.consumer.email, waiting)
        assert "Пришлите, пожалуйста, план участка." in mail.text
        assert wait(lambda: len(mails(STAFF_DESK, waiting)) == 1, timeout=30)
        assert "Вопрос к сотруднику." in mails(STAFF_DESK, waiting)[0].text

        # Within the hour: another unread message makes no second e-mail.
        assert say(http, parties.staff, waiting, "Напоминаем про план.").status_code == 201
        time.sleep(CHAT_MAIL_DELAY + 3)
        assert len(mails(parties.consumer.email, waiting)) == 1
        assert mails(parties.consumer.email, read_soon) == []  # read in time: never mailed


def test_markup_is_stored_and_shown_as_text(system: System, parties: Parties) -> None:
    markup = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2"> & «кавычки»'
    with system.client() as http:
        application = new_application(http, parties.consumer)
        sent = say(http, parties.consumer, application, markup)
        assert sent.status_code == 201 and sent.json()["text"] == markup
        log_in(http, parties.staff.login, NEW_PASSWORD)  # the page, with the staff's cookie
        page = http.get(f"/applications/{application}/chat")
        assert page.status_code == 200
        assert "<script>window.__xss" not in page.text and "<img src=x" not in page.text
        assert "&lt;script&gt;window.__xss = 1&lt;/script&gt;&lt;img src=x onerror=" in page.text


def test_flood_is_rate_limited_and_bad_input_refused(system: System, parties: Parties) -> None:
    with system.client() as http:
        application = new_application(http, parties.consumer)
        for body, code in (
            ({"text": ""}, "empty_message"),
            ({"text": "  \n "}, "empty_message"),
            ({"text": "ж" * 4001}, "text_too_long"),
            ({"text": "звонок\x07"}, "invalid_text"),
            ({"text": ["список"]}, "validation_error"),
            ({"text": "ok", "attachments": ["нет-такого"]}, "file_not_found"),
        ):
            answer = http.post(messages(application), headers=parties.consumer.auth, json=body)
            assert answer.status_code == 422 and answer.json()["code"] == code, (body, answer.text)
        malformed = http.post(
            messages(application),
            headers={**parties.consumer.auth, "content-type": "application/json"},
            content=b"{",
        )
        assert malformed.status_code == 400
        assert say(http, parties.consumer, application, "ж" * 4000).status_code == 201

        codes = [say(http, parties.consumer, application, f"флуд {i}").status_code for i in range(22)]
        assert codes[:19] == [201] * 19 and set(codes[19:]) == {429}
        limited = say(http, parties.consumer, application, "ещё")
        assert limited.json()["code"] == "too_many_messages" and int(limited.headers["retry-after"]) >= 1
        assert say(http, parties.staff, application, "Сотрудник отвечает").status_code == 201
        items = http.get(messages(application), headers=parties.consumer.auth, params={"limit": 200}).json()
        assert items["last_seq"] == 21 and len(items["items"]) == 21  # nothing half, nothing refused stored


@pytest.mark.crash  # the embedded default runs the notifier in the killed process too
def test_sockets_come_back_after_the_chat_service_restarts(fresh_system: System) -> None:
    """The chat process is killed under open sockets: they close, and after the restart a page
    reconnects with ``?after=`` and gets exactly what it missed; the history is intact."""
    system, staff, consumer = fresh_system, new_person(), new_person()
    create_staff(system, staff.login, staff.email)
    with system.client() as http:
        register_and_confirm(system, http, consumer)
        applicant = side_of(http, consumer.login, consumer.email, consumer.password)
        employee = side_of(http, staff.login, staff.email, NEW_PASSWORD)
        application = new_application(http, applicant)
        assert say(http, employee, application, "До перезапуска").status_code == 201

    async def until_closed() -> int:
        async with connect(ws_url(system, application, access_token=applicant.token)) as ws:
            assert (await until(ws, kind("ready")))[-1]["last_seq"] == 1
            system.kill("chat")
            with pytest.raises(ConnectionClosed) as closed:
                await until(ws, kind("never"), timeout=30)
            return closed.value.rcvd.code if closed.value.rcvd else 1006

    code = asyncio.run(until_closed())
    assert code in (1012, 1006)  # 1012 from the gateway (stack); the whole process went (embedded)
    system.start(system.host_of("chat"))
    with system.client() as http:
        assert say(http, employee, application, "После перезапуска").status_code == 201

    async def resume() -> list[str]:
        async with connect(ws_url(system, application, access_token=applicant.token, after=1)) as ws:
            frames = await until(ws, kind("ready"))
        return [f["message"]["text"] for f in frames if f["type"] == "message"]

    assert asyncio.run(resume()) == ["После перезапуска"]


def test_someone_elses_application_answers_like_an_unknown_one(system: System, parties: Parties) -> None:
    """Issue 9 (8a): for a stranger, the chat of an existing application and of an id that
    exists nowhere are the same 404 (after the same wait, which is not asserted here): every
    route, the socket and the page."""
    with system.client() as http:
        application = new_application(http, parties.consumer)
        assert say(http, parties.consumer, application, "Вопрос по заявке").status_code == 201
    unknown = str(uuid.uuid4())
    stranger = parties.stranger

    async def answers(target: str, http: httpx.AsyncClient) -> dict[str, tuple[int, bytes]]:
        base = f"/api/v1/applications/{target}"
        calls = {
            "messages": http.get(f"{base}/messages", headers=stranger.auth),
            "summary": http.get(f"{base}/chat", headers=stranger.auth),
            "presence": http.get(f"{base}/presence", headers=stranger.auth),
            "post": http.post(f"{base}/messages", headers=stranger.auth, json={"text": "чужое"}),
            "read": http.post(f"{base}/messages/read", headers=stranger.auth, json={"up_to_seq": 1}),
            "page": http.get(f"/applications/{target}/chat"),  # with the stranger's cookie
        }
        done = await asyncio.gather(*calls.values())
        return {name: (r.status_code, r.content) for name, r in zip(calls, done, strict=True)}

    async def socket(target: str) -> tuple[int, str]:
        async with connect(ws_url(system, target, access_token=stranger.token)) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await until(ws, kind("ready"), timeout=20)
        assert closed.value.rcvd is not None
        return closed.value.rcvd.code, closed.value.rcvd.reason

    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=system.base_url, timeout=30) as http:
            log_in_answer = await http.post(
                "/api/v1/sessions", json={"login": stranger.login, "password": stranger.password}
            )
            assert log_in_answer.status_code == 201
            foreign, missing, foreign_ws, missing_ws = await asyncio.gather(
                answers(application, http), answers(unknown, http), socket(application), socket(unknown)
            )
        for name, (status, body) in foreign.items():
            assert status == 404, (name, body)
            assert missing[name] == (status, body), name
        assert json.loads(foreign["messages"][1])["code"] == "not_found"
        assert foreign_ws == missing_ws == (4404, "not_found")

    asyncio.run(scenario())


BIG = (2**63, 10**30)


def test_integer_parameters_are_bounded(system: System, parties: Parties) -> None:
    """Issue 9 (6): 2**63 and 10**30 in every integer a client sends to the chat: a 4xx, never a 500."""
    with system.client() as http:
        application = new_application(http, parties.consumer)
        assert say(http, parties.consumer, application, "Первое").status_code == 201
        path = messages(application)
        for big in BIG:
            for params in ({"after": big}, {"before": big}, {"limit": big}, {"after": -big}):
                answer = http.get(path, headers=parties.consumer.auth, params=params)
                assert answer.status_code == 422, (params, answer.text)
                assert answer.json()["code"] == "validation_error"
            read = http.post(f"{path}/read", headers=parties.consumer.auth, json={"up_to_seq": big})
            assert read.status_code == 422 and read.json()["code"] == "validation_error", read.text

    async def scenario() -> None:
        for big in BIG:
            url = ws_url(system, application, access_token=parties.consumer.token, after=big)
            async with connect(url) as ws:
                with pytest.raises(ConnectionClosed) as closed:
                    await until(ws, kind("ready"))
            assert closed.value.rcvd is not None
            assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4422, "validation_error")
        async with connect(ws_url(system, application, access_token=parties.consumer.token)) as ws:
            await until(ws, kind("ready"))
            for big in BIG:
                await ws.send(json.dumps({"type": "read", "up_to_seq": big}))
                error = (await until(ws, kind("error")))[-1]
                assert (error["status"], error["code"]) == (422, "validation_error")

    asyncio.run(scenario())


def test_a_file_in_the_chat_of_a_long_stream(system: System, parties: Parties) -> None:
    """Issue 10 §2, the first build's bug end to end: an application whose stream is well past
    version 8 (its status changes and the facts of the process up to «Подготовка актов ТП») gets
    a chat message with a file from staff. The chat's thread id is the application id, so
    consumers that skipped by bare id dropped that message (sequence 1 ≤ 8): the file was never
    shared (404) and no e-mail came. Now the applicant downloads the file and gets the
    unread-message e-mail."""
    with system.client() as http:
        application = new_application(http, parties.consumer)
        seen = advance(http, parties.staff.auth, parties.consumer.auth, application, "acts")
        assert seen["version"] > 8
        timeline = http.get(f"/api/v1/applications/{application}", headers=parties.consumer.auth).json()
        assert len([t for t in timeline["timeline"] if t["kind"] == "status"]) == 6
        act = upload(http, parties.staff, "Акт о ТП.pdf", b"%PDF-1.4\n% act\n%%EOF\n", "application/pdf")
        sent = say(http, parties.staff, application, "Акт во вложении, подпишите.", attachments=[act])
        assert sent.status_code == 201, sent.text
        assert wait(
            lambda: http.get(f"/api/v1/files/{act}", headers=parties.consumer.auth).status_code == 200
        ), "the applicant cannot download the staff's file"
        link = f"{system.base_url}/applications/{application}"
        assert wait(
            lambda: any(
                link in m.text and "Акт во вложении, подпишите." in m.text
                for m in system.mailbox.messages_to(parties.consumer.email)
                if m.subject.startswith("Новое сообщение")
            ),
            timeout=30,
        ), "no unread-message e-mail"


def test_a_second_chat_process_serves_the_same_threads(system: System, parties: Parties) -> None:
    """Two processes of the chat service on the real stack: a socket held by the second gets,
    once and in order, what is posted through the first (the public entry) and by its sockets;
    what the second takes reaches the first's sockets; the flood limit counts both."""
    if system.mode == "embedded":
        pytest.skip("the embedded default is one process (lk run): there is no second chat process")
    with system.client() as http:
        application = new_application(http, parties.consumer)
        assert say(http, parties.consumer, application, "первое").status_code == 201
    replica, url = start_chat_replica(system)
    try:

        async def scenario() -> None:
            on_b = url.replace("http://", "ws://") + f"/api/v1/applications/{application}/chat/ws"
            async with (
                connect(f"{on_b}?access_token={parties.staff.token}") as staff_on_b,
                connect(ws_url(system, application, access_token=parties.consumer.token)) as consumer,
            ):
                assert [
                    f["message"]["seq"] for f in await until(staff_on_b, kind("ready")) if "message" in f
                ] == [1]
                await until(consumer, kind("ready"))
                async with httpx.AsyncClient(base_url=system.base_url) as http:
                    for i in range(2, 6):  # through the public entry: the first chat process
                        answer = await http.post(
                            messages(application), headers=parties.consumer.auth, json={"text": f"№ {i}"}
                        )
                        assert answer.status_code == 201, answer.text
                await consumer.send(
                    json.dumps({"type": "send", "client_id": uuid.uuid4().hex, "text": "№ 6"})
                )
                frames = await until(
                    staff_on_b, lambda f: f["type"] == "message" and f["message"]["seq"] == 6
                )
                assert [f["message"]["seq"] for f in frames if f["type"] == "message"] == [2, 3, 4, 5, 6]
                # The second process takes the staff's answer; the gateway's socket (first) has it.
                await staff_on_b.send(
                    json.dumps({"type": "send", "client_id": uuid.uuid4().hex, "text": "ответ"})
                )
                answer_frames = await until(staff_on_b, kind("ack"))
                assert [f["message"]["seq"] for f in answer_frames if f["type"] == "message"] == [7]
                got = await until(consumer, lambda f: f["type"] == "message" and f["message"]["seq"] == 7)
                assert [f["message"]["seq"] for f in got if f["type"] == "message"] == [2, 3, 4, 5, 6, 7]
                await staff_on_b.send(json.dumps({"type": "read", "up_to_seq": 6}))
                receipt = (await until(consumer, kind("read")))[-1]
                assert (receipt["reader_role"], receipt["up_to_seq"]) == ("staff", 6)

        asyncio.run(scenario())
        # The flood limit (20 per 10 s per author and thread) counts the posts of both processes.
        with httpx.Client(base_url=system.base_url) as edge, httpx.Client(base_url=url) as second:
            flood = [
                say((edge, second)[i % 2], parties.staff, application, f"подряд {i}").status_code
                for i in range(20)
            ]
        assert flood[:19] == [201] * 19 and flood[19] == 429  # the answer above was the first of 20
    finally:
        stop(replica)
