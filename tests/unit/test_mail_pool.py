"""The notifier's sender against a real SMTP server (the embedded Maildir sink): urgent e-mail
before bulk, a few reused connections instead of one per message, and never more than one
message between the server's acceptance and the "sent" mark."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.notifier.mailer import Mail, Mailer, Pending, SmtpMailer
from services.notifier.outbox import CHAT_DIGEST, MailOutbox, Sender, enqueue
from shared.events import ApplicationSubmittedV1, StatusChangedV1
from shared.readstore import SQLiteReadStore
from shared.smtp_sink import MaildirSink, read_maildir, session_count
from tests.harness import free_port
from tests.unit import test_notifier_outbox
from tests.unit.test_notifier_outbox import registered

FROM = "Личный кабинет ТП <noreply@lk-tp.local>"
store = test_notifier_outbox.store  # the outbox's read store, as a fixture here too


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[MaildirSink]:
    sink = MaildirSink(tmp_path / "mail", "127.0.0.1", free_port())
    sink.start()
    yield sink
    sink.stop()


def port_of(sink: MaildirSink) -> int:
    return int(sink.controller.port)


async def put(store: SQLiteReadStore, key: str, kind: str, subject: str) -> None:
    async with store.transaction() as tx:
        await enqueue(tx, key, kind, "ivan@example.ru", subject, "текст", "<p>текст</p>")


async def send_all(sender: Sender) -> int:
    total = 0
    while sent := await sender.send_due():
        total += sent
    return total


async def test_status_and_confirmation_go_before_a_backlog_of_receipts_and_digests(
    store: SQLiteReadStore, sink: MaildirSink
) -> None:
    for i in range(10):  # the backlog, older than the urgent ones
        await put(store, f"receipt-{i}", ApplicationSubmittedV1.TYPE, f"Заявка ТП-2026-{i:06d} принята")
    await put(store, "digest-1", CHAT_DIGEST, "Новые сообщения в чате")
    await put(store, "status-1", StatusChangedV1.TYPE, "Заявка ТП-2026-000001: В работе")
    confirmation = registered()
    async with store.transaction() as tx:
        await MailOutbox("https://lk.example.ru").handle(tx, confirmation)  # kind = the event's type

    sender = Sender(store, SmtpMailer("127.0.0.1", port_of(sink), FROM, connections=3))
    assert await sender.send_due(limit=2) == 2
    first = sorted(str(m["Subject"]) for m in read_maildir(sink.folder))
    assert first == [
        "Заявка ТП-2026-000001: В работе",
        "Подтвердите адрес электронной почты — Личный кабинет ТП",
    ]

    assert await send_all(sender) == 11
    subjects = [str(m["Subject"]) for m in read_maildir(sink.folder)]
    assert len(subjects) == len(set(subjects)) == 13


async def test_the_pool_reuses_a_few_connections(store: SQLiteReadStore, sink: MaildirSink) -> None:
    for i in range(30):
        await put(store, f"receipt-{i}", ApplicationSubmittedV1.TYPE, f"Заявка {i} принята")
    sender = Sender(store, SmtpMailer("127.0.0.1", port_of(sink), FROM, connections=3))
    assert await send_all(sender) == 30
    assert len(read_maildir(sink.folder)) == 30
    assert 1 <= session_count(sink.folder) <= 3  # one connection per message would make 30


async def test_a_session_the_server_closed_is_opened_again_without_a_retry(
    store: SQLiteReadStore, tmp_path: Path
) -> None:
    port = free_port()
    sink = MaildirSink(tmp_path / "mail", "127.0.0.1", port)
    sink.start()
    sender = Sender(store, SmtpMailer("127.0.0.1", port, FROM, connections=1))
    try:
        await put(store, "one", StatusChangedV1.TYPE, "первое")
        assert await sender.send_due() == 1
        sink.stop()  # the server goes away and comes back: the pooled session is dead
        sink = MaildirSink(tmp_path / "mail", "127.0.0.1", port)
        sink.start()
        await put(store, "two", StatusChangedV1.TYPE, "второе")
        assert await sender.send_due() == 1  # sent at once, not put off by a backoff
    finally:
        sink.stop()
    rows = await store.fetch("SELECT event_id, attempts FROM notifier_outbox ORDER BY event_id")
    assert [(r["event_id"], r["attempts"]) for r in rows] == [("one", 1), ("two", 1)]
    assert session_count(tmp_path / "mail") == 2


class _Watching(Mailer):
    """Counts how many messages are at once between "envelope taken" and "sent" marked, and
    between the start of their content and the mark (what a crash could repeat)."""

    def __init__(self, store: SQLiteReadStore) -> None:
        self.store = store
        self.connections = 4
        self.beginning = 0
        self.most_beginning = 0
        self.unmarked: list[str] = []  # accepted by "the server", not yet seen marked
        self.most_unmarked = 0

    async def begin(self, mail: Mail) -> Pending:
        self.beginning += 1
        self.most_beginning = max(self.most_beginning, self.beginning)
        await asyncio.sleep(0.01)  # a round trip: lets the other connections start theirs
        self.beginning -= 1
        return _WatchedPending(self, mail)


class _WatchedPending(Pending):
    def __init__(self, mailer: _Watching, mail: Mail) -> None:
        self.mailer = mailer
        self.mail = mail

    async def finish(self) -> None:
        watcher = self.mailer
        sent = {
            r["message_id"]
            for r in await watcher.store.fetch("SELECT message_id FROM notifier_outbox WHERE status = 'sent'")
        }
        watcher.unmarked = [m for m in watcher.unmarked if m not in sent]
        await asyncio.sleep(0.005)  # the content on its way
        watcher.unmarked.append(self.mail.message_id)
        watcher.most_unmarked = max(watcher.most_unmarked, len(watcher.unmarked))


async def test_connections_overlap_but_one_message_at_most_awaits_its_sent_mark(
    store: SQLiteReadStore,
) -> None:
    for i in range(20):
        await put(store, f"receipt-{i}", ApplicationSubmittedV1.TYPE, f"Заявка {i} принята")
    mailer = _Watching(store)
    assert await send_all(Sender(store, mailer)) == 20
    assert mailer.most_beginning > 1  # the connections did work side by side
    assert mailer.most_unmarked == 1  # but a crash could repeat only one message
