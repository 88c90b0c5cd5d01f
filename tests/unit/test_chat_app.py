"""services/chat: the Thread aggregate, ChatApp's commands and history reads, the rate limiter,
the public events, and the hub's fan-out and presence."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from eventsourcing.persistence import StoredEvent

from services.chat.app import Author, ChatApp, Message, Receipt
from services.chat.channel import Channel
from services.chat.domain import Attachment, Thread
from services.chat.hub import Hub, Subscriber
from services.chat.limiter import FloodLimit
from services.chat.presence import REMOTE_TTL, Presence
from services.chat.public import EVENTS
from services.chat.usecases import Target
from shared.errors import Invalid, TooMany
from shared.events import MessagePostedV1, MessageReadV1
from shared.settings import Settings

ANNA = Author("anna-id", "consumer", "Анна")
STAFF = Author("staff-id", "staff", "Мария Иванова")


@pytest.fixture
def chat(tmp_path: Path) -> ChatApp:
    settings = Settings(mode="embedded", var_dir=tmp_path, secret_key="s" * 32)
    app = ChatApp(settings, {"PERSISTENCE_MODULE": "eventsourcing.popo"})
    app.flood = FloodLimit(10_000, 10.0)
    return app


def test_sequence_history_and_receipts(chat: ChatApp) -> None:
    thread = uuid.uuid4()
    posted: list[tuple[str, int]] = []
    chat.on_posted = lambda t, m: posted.append((t, m["seq"]))
    for i in range(1, 7):
        author = STAFF if i % 2 == 0 else ANNA
        message, created = chat.post(thread, ANNA.account_id, author, f"текст {i}", [])
        assert created and message["seq"] == i
        if i % 3 == 0:
            chat.read(thread, STAFF, i)  # receipts interleave with messages in the stream
    assert posted == [(str(thread), i) for i in range(1, 7)]
    items, found = chat.history(thread, after=1, limit=3)
    assert [m["seq"] for m in items] == [2, 3, 4] and found is not None and found.seq == 6
    assert [m["seq"] for m in chat.history(thread, before=6, limit=2)[0]] == [4, 5]
    assert [m["text"] for m in chat.history(thread, after=5)[0]] == ["текст 6"]
    assert chat.history(thread, after=6)[0] == []
    assert chat.history(uuid.uuid4()) == ([], None)

    state = chat.thread(thread)
    assert state is not None
    assert state.unread_for("consumer") == 3 and state.unread_for("staff") == 0
    chat.read(thread, ANNA, 4)
    state = chat.thread(thread)
    assert state is not None and state.unread_for("consumer") == 1
    assert chat.read(thread, ANNA, 2) is not None  # not further: no event
    assert chat.thread(thread).version == state.version  # type: ignore[union-attr]
    with pytest.raises(Invalid) as beyond:
        chat.read(thread, ANNA, 7)
    assert beyond.value.code == "beyond_last_message"


def test_client_id_makes_a_post_idempotent(chat: ChatApp) -> None:
    thread = uuid.uuid4()
    first, created = chat.post(thread, ANNA.account_id, ANNA, "один раз", [], client_id="k" * 16)
    again, repeated = chat.post(thread, ANNA.account_id, ANNA, "один раз", [], client_id="k" * 16)
    assert created and not repeated and again == first
    # The same key from someone else is a different message.
    other, created = chat.post(thread, ANNA.account_id, STAFF, "ответ", [], client_id="k" * 16)
    assert created and other["seq"] == 2


def test_long_threads_reload_from_snapshots(tmp_path: Path) -> None:
    settings = Settings(mode="embedded", var_dir=tmp_path, secret_key="s" * 32)
    chat = ChatApp(settings)
    chat.flood = FloodLimit(10_000, 10.0)
    thread = uuid.uuid4()
    for i in range(230):
        chat.post(
            thread, ANNA.account_id, ANNA if i % 2 else STAFF, f"m{i + 1}", [], client_id=f"client{i:04d}"
        )
    chat.close()
    reopened = ChatApp(settings)
    state = reopened.thread(thread)
    assert state is not None and state.seq == 230 and len(state.versions) == 230
    assert reopened.post(thread, ANNA.account_id, ANNA, "m1", [], client_id="client0001")[1] is False
    assert [m["text"] for m in reopened.history(thread, after=198, limit=4)[0]] == [
        "m199",
        "m200",
        "m201",
        "m202",
    ]
    reopened.close()


# A thread as the code before explicit event classes stored it (topics name the classes).
_OLD_EVENTS = [
    (
        "services.chat.domain:Thread.Opened",
        '{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-01T22:46:03.620620+00:00"},'
        '"originator_topic":"services.chat.domain:Thread","applicant_id":"anna-id"}',
    ),
    (
        "services.chat.domain:Thread.MessagePosted",
        '{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-01T22:46:03.620909+00:00"},"seq":1,'
        '"message_id":"74a03bee-a2f9-559f-a80b-21284f413507","client_id":"client-0001","author_id":"anna-id",'
        '"role":"consumer","author_name":"Анна","text":"Здравствуйте","attachments":[{"id":"file-1",'
        '"name":"план.pdf","size":10,"content_type":"application/pdf"}],'
        '"at":"2026-12-01T22:46:03.620805+00:00","applicant_id":"anna-id"}',
    ),
    (
        "services.chat.domain:Thread.MessageRead",
        '{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-01T22:46:03.621421+00:00"},'
        '"reader_id":"staff-id","role":"staff","up_to_seq":1}',
    ),
]


def test_events_stored_by_the_earlier_code_still_load(chat: ChatApp) -> None:
    thread = uuid.UUID("6f1d3c9a-2b4e-4f8a-9c7d-1e2f3a4b5c6d")
    chat.recorder.insert_events(
        [
            StoredEvent(thread, version, topic, state.encode())
            for version, (topic, state) in enumerate(_OLD_EVENTS, 1)
        ]
    )
    found = chat.thread(thread)
    assert found is not None and (found.applicant_id, found.seq, found.versions) == ("anna-id", 1, [2])
    assert found.role_marks == {"consumer": 0, "staff": 1} and found.seq_of("anna-id", "client-0001") == 1
    [message] = chat.history(thread)[0]
    assert (message["text"], message["attachments"][0]["name"], message["client_id"]) == (
        "Здравствуйте",
        "план.pdf",
        "client-0001",
    )
    events = [chat.mapper.to_domain_event(n) for n in chat.recorder.select_notifications(1, 10)]
    kinds: list[type] = [type(e) for e in events]
    assert kinds == [Thread.Opened, Thread.MessagePosted, Thread.MessageRead]
    assert [type(EVENTS(e)) for e in events] == [type(None), MessagePostedV1, MessageReadV1]
    # ... and the thread goes on from there.
    assert chat.post(thread, "anna-id", STAFF, "Добрый день", [])[0]["seq"] == 2


def test_flood_limit_window() -> None:
    now = [100.0]
    flood = FloodLimit(3, 10.0, clock=lambda: now[0])
    times: list[float] = []
    for _ in range(3):
        assert flood.retry_after(times) == 0
        times.append(now[0])
    assert flood.retry_after(times) == pytest.approx(10.0)
    now[0] += 4
    assert flood.retry_after(times) == pytest.approx(6.0)
    now[0] += 6
    assert flood.retry_after(times) == 0
    assert flood.retry_after([]) == 0
    assert FloodLimit(30, 10.0, clock=lambda: now[0]).retry_after([now[0]] * 20) == 0  # more than kept


def test_flood_is_refused_before_anything_is_stored(chat: ChatApp) -> None:
    chat.flood = FloodLimit(2, 10.0)
    thread = uuid.uuid4()
    chat.post(thread, ANNA.account_id, ANNA, "1", [])
    chat.post(thread, ANNA.account_id, ANNA, "2", [])
    with pytest.raises(TooMany) as refused:
        chat.post(thread, ANNA.account_id, ANNA, "3", [])
    assert refused.value.status == 429 and refused.value.retry_after == 10
    assert chat.thread(thread).seq == 2  # type: ignore[union-attr]
    # Counted per author and thread, on the thread as stored: another author may go on.
    assert chat.post(thread, ANNA.account_id, STAFF, "ответ", [])[1]


def test_public_events(chat: ChatApp) -> None:
    thread = uuid.uuid4()
    attachment: Attachment = {
        "id": "file-1",
        "name": "план.pdf",
        "size": 10,
        "content_type": "application/pdf",
    }
    chat.post(thread, ANNA.account_id, STAFF, "<b>текст</b>", [attachment])
    chat.read(thread, ANNA, 1)
    events = [chat.mapper.to_domain_event(n) for n in chat.recorder.select_notifications(1, 10)]
    public = [EVENTS(e) for e in events]
    assert public[0] is None  # Thread.Opened stays inside
    posted, read = public[1], public[2]
    assert isinstance(posted, MessagePostedV1) and isinstance(read, MessageReadV1)
    assert (posted.thread_id, posted.seq, posted.applicant_id, posted.author_role) == (
        str(thread),
        1,
        ANNA.account_id,
        "staff",
    )
    assert posted.attachments == ["file-1"] and posted.text == "<b>текст</b>"
    assert (read.reader_role, read.up_to_seq) == ("consumer", 1)


def message(thread_id: str, seq: int, text: str) -> Message:
    return {
        "id": f"m{seq}",
        "seq": seq,
        "thread_id": thread_id,
        "author_id": "anna-id",
        "author_role": "consumer",
        "author_name": "Анна",
        "text": text,
        "attachments": [],
        "at": "2026-01-01T00:00:00+00:00",
        "client_id": None,
    }


class Recorder(Subscriber):
    def __init__(self, thread_id: str, account_id: str, session_id: str, role: str) -> None:
        super().__init__(thread_id, account_id, session_id, role)
        self.frames: list[tuple[int, str]] = []
        self.closed: tuple[int, str] | None = None

    def push(self, seq: int, frame: str, receipt: Receipt | None = None) -> None:
        self.frames.append((seq, frame))

    def close(self, code: int, reason: str) -> None:
        self.closing = True
        self.closed = (code, reason)

    def drain(self) -> list[tuple[int, str]]:
        frames, self.frames = self.frames, []
        return frames


def test_hub_fans_out_in_order_and_tracks_presence() -> None:
    now = [1000.0]
    hub = Hub(Presence(clock=lambda: now[0]))
    applicant = Recorder("t1", "anna-id", "s1", "consumer")
    other_thread = Recorder("t2", "boris-id", "s2", "consumer")
    staff = Recorder("t1", "staff-id", "s3", "staff")
    hub.subscribe(applicant, "anna-id")
    hub.subscribe(other_thread, "boris-id")
    assert not hub.presence.staff_online()
    hub.subscribe(staff, "anna-id")
    presence = json.loads(applicant.drain()[-1][1])
    assert presence["type"] == "presence" and presence["staff_online"] is True
    assert presence["applicant_online"] is True
    assert json.loads(other_thread.drain()[-1][1])["staff_online"] is True  # staff online anywhere
    staff.drain()
    hub.message("t1", message("t1", 1, "a"))
    hub.message("t1", message("t1", 2, "b"))
    assert [seq for seq, _ in applicant.drain()] == [1, 2]
    assert other_thread.frames == []
    hub.publish("t1", {"type": "typing"}, exclude=applicant)
    assert applicant.frames == [] and len(staff.drain()) == 3

    hub.unsubscribe(staff)
    assert hub.presence.staff_online()  # just seen: online for a minute
    now[0] += 61
    hub.tick(lambda session: session != "s2")
    last = json.loads(applicant.drain()[-1][1])
    assert last["staff_online"] is False and last["staff_last_seen"].startswith("1970-01-01T00:16:40")
    assert other_thread.closed == (4401, "session_ended")  # its session ended (logout)


async def test_a_channel_delivers_each_message_and_receipt_once_in_order(chat: ChatApp) -> None:
    """As with replicas: the same message from this process and from the follower, and another
    replica's message 5 heard after this one's 6. The channel fills the gap from the store."""
    thread = uuid.uuid4()
    for i in range(1, 3):
        chat.post(thread, ANNA.account_id, ANNA, f"до {i}", [])
    hub = Hub(Presence())
    state = SimpleNamespace(chat=chat, hub=hub)
    target = Target(thread, str(thread), ANNA.account_id, "ТП-1")
    sent: list[dict[str, object]] = []
    channel = Channel(state, target, STAFF, "s1", lambda f: sent.append(json.loads(f)), lambda c, r: None)  # type: ignore[arg-type]
    await channel.start(0)
    assert [f["message"]["seq"] for f in sent if f["type"] == "message"] == [1, 2]  # type: ignore[index]
    sent.clear()
    posted = [chat.post(thread, ANNA.account_id, ANNA, f"после {i}", [])[0] for i in range(3, 7)]
    hub.message(str(thread), posted[0])  # 3
    hub.message(str(thread), posted[3])  # 6 before 4 and 5: they are read from the store first
    hub.message(str(thread), posted[0])  # 3 again (the follower)
    for _ in range(50):
        if channel.live:
            break
        await asyncio.sleep(0.01)
    hub.message(str(thread), posted[1])  # 4 and 5 late, through the follower
    hub.message(str(thread), posted[2])
    receipt: Receipt = {"reader_id": "anna-id", "reader_role": "consumer", "up_to_seq": 6, "read": {}}
    hub.read(str(thread), receipt)
    hub.read(str(thread), receipt)  # the same receipt from the follower
    hub.read(str(thread), {**receipt, "up_to_seq": 5})  # an older one, superseded
    assert [f["message"]["seq"] for f in sent if f["type"] == "message"] == [3, 4, 5, 6]  # type: ignore[index]
    assert [f["up_to_seq"] for f in sent if f["type"] == "read"] == [6]


def test_presence_heard_from_another_replica_lasts_while_it_says_so() -> None:
    now = [1000.0]
    presence = Presence(clock=lambda: now[0])
    presence.heard("staff-id", "staff", seen=900.0, sockets=True)  # a socket there, seen long ago
    assert presence.staff_online() and presence.online("staff-id")
    now[0] += REMOTE_TTL - 1
    assert presence.online("staff-id")
    now[0] += 2  # no heartbeat from that replica (killed): no longer counted
    assert not presence.online("staff-id") and presence.seen["staff-id"] == 900.0
    presence.heard("staff-id", "staff", seen=800.0, sockets=False)  # an older moment never wins
    assert presence.seen["staff-id"] == 900.0 and not presence.staff_online()
