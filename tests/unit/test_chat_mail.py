"""services/notifier/chat_mail.py and chat_schedule.py: an e-mail when a chat message waits
unread, at most one per thread per interval, never for what was read; its state is in the read
store, the addresses and numbers in the shared reference rows (waited for exactly)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.notifier.chat_mail import CHAT_MAIL_DDL, ChatMailConfig, ChatMailProjection, references
from services.notifier.chat_schedule import ChatMailScheduler
from services.notifier.outbox import OUTBOX_DDL
from shared.consumer import ConsumerRunner
from shared.events import (
    AccountRegisteredV1,
    ApplicationSubmittedV1,
    Envelope,
    MessagePostedV1,
    MessageReadV1,
    PublicEvent,
)
from shared.readstore import SQLiteReadStore
from shared.references import Lookup
from shared.settings import Settings
from shared.transport import Message
from shared.transport.embedded import EmbeddedTransport

URL = "https://lk.example.ru"
T0 = 1_800_000_000.0


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteReadStore]:
    store = SQLiteReadStore(tmp_path / "notifier.sqlite")
    await store.open()
    await store.migrate([*OUTBOX_DDL, *CHAT_MAIL_DDL])
    yield store
    await store.close()


@pytest.fixture
async def refs(store: SQLiteReadStore, tmp_path: Path) -> ConsumerRunner:
    """The runner of notifier.refs (accounts, applications) on the same store."""
    runner = ConsumerRunner(references(), EmbeddedTransport(tmp_path / "bus.sqlite"), store)
    await runner.setup()
    return runner


def lookup(refs: ConsumerRunner) -> Lookup:
    return Lookup(refs.store, refs, "notifier", timeout=0.5)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


class Thread:
    """One application's chat, as its public events."""

    def __init__(self) -> None:
        self.id = str(uuid.uuid4())
        self.applicant = str(uuid.uuid4())
        self.version = 0
        self.seq = 0

    def _env(self, payload: PublicEvent, at: float, subject: str | None = None) -> Envelope:
        self.version += 1
        return payload.envelope(
            source="chat",
            subject=subject or self.id,
            sequence=self.version,
            position=self.version,
            time=datetime.fromtimestamp(at, UTC),
        )

    def setup(self) -> list[Envelope]:
        registered = AccountRegisteredV1(
            account_id=self.applicant, login="anna", email="anna@example.ru", account_type="consumer"
        )
        submitted = ApplicationSubmittedV1(
            application_id=self.id,
            number="ТП-2026-000042",
            applicant_id=self.applicant,
            applicant_email="anna@example.ru",
            applicant_name="anna",
            type_code="individual_15kw",
            type_title="до 15 кВт",
            power_kw=10,
            object_address="Москва",
            documents=[],
        )
        return [
            registered.envelope(source="identity", subject=self.applicant, sequence=1, position=1),
            submitted.envelope(source="applications", subject=self.id, sequence=1, position=1),
        ]

    def posted(self, role: str, text: str, at: float) -> Envelope:
        self.seq += 1
        return self._env(
            MessagePostedV1(
                message_id=str(uuid.uuid4()),
                thread_id=self.id,
                seq=self.seq,
                applicant_id=self.applicant,
                author_id=self.applicant if role == "consumer" else "staff-1",
                author_role=role,
                author_name="Мария Иванова" if role == "staff" else "anna",
                text=text,
                attachments=[],
            ),
            at,
        )

    def read(self, role: str, up_to: int, at: float) -> Envelope:
        return self._env(
            MessageReadV1(thread_id=self.id, reader_id="x", reader_role=role, up_to_seq=up_to), at
        )


async def feed(refs: ConsumerRunner, config: ChatMailConfig, *events: Envelope) -> None:
    """Chat events to the chat mail projection, the others to the reference rows."""
    projection = ChatMailProjection(config)
    for event in events:
        if event.source == "chat":
            async with refs.store.transaction() as tx:
                await projection.handle(tx, event)
        else:
            await refs.apply_batch([Message(f"{event.source}.events", 0, 0, event.subject, event.to_bytes())])


async def outbox(store: SQLiteReadStore) -> list[dict[str, Any]]:
    return await store.fetch("SELECT * FROM notifier_outbox ORDER BY created_at")


CONFIG = ChatMailConfig(delay=600, interval=3600)


async def test_an_unread_staff_message_is_mailed_once_after_the_delay(
    store: SQLiteReadStore, refs: ConsumerRunner
) -> None:
    clock, thread = Clock(), Thread()
    scheduler = ChatMailScheduler(store, CONFIG, URL, lookup(refs), clock=clock)
    first = thread.posted("staff", 'Пришлите план участка <b>"срочно"</b>', T0)
    await feed(refs, CONFIG, *thread.setup(), first, first)  # redelivered: still one
    clock.now = T0 + 599
    assert await scheduler.run_due() == 0
    clock.now = T0 + 600
    assert await scheduler.run_due() == 1
    assert await scheduler.run_due() == 0
    [mail] = await outbox(store)
    assert mail["recipient"] == "anna@example.ru"
    assert "ТП-2026-000042" in mail["subject"]
    assert 'Пришлите план участка <b>"срочно"</b>' in mail["body_text"]
    assert (
        "&lt;b&gt;" in mail["body_html"] and "<b>" not in mail["body_html"].split("<body")[1].split("</p>")[2]
    )
    assert f"{URL}/applications/{thread.id}" in mail["body_text"]
    # A new scheduler (a restart) finds nothing left to send for it.
    assert await ChatMailScheduler(store, CONFIG, URL, lookup(refs), clock=clock).run_due() == 0


async def test_reading_in_time_cancels_the_mail(store: SQLiteReadStore, refs: ConsumerRunner) -> None:
    clock, thread = Clock(), Thread()
    scheduler = ChatMailScheduler(store, CONFIG, URL, lookup(refs), clock=clock)
    await feed(
        refs,
        CONFIG,
        *thread.setup(),
        thread.posted("staff", "Добрый день", T0),
        thread.read("consumer", 1, T0 + 30),
    )
    clock.now = T0 + 10_000
    assert await scheduler.run_due() == 0
    assert await outbox(store) == []


async def test_partly_read_waits_from_the_oldest_unread(store: SQLiteReadStore, refs: ConsumerRunner) -> None:
    clock, thread = Clock(), Thread()
    scheduler = ChatMailScheduler(store, CONFIG, URL, lookup(refs), clock=clock)
    await feed(
        refs,
        CONFIG,
        *thread.setup(),
        thread.posted("staff", "первое", T0),
        thread.posted("staff", "второе", T0 + 300),
        thread.read("consumer", 1, T0 + 400),
    )
    clock.now = T0 + 800
    assert await scheduler.run_due() == 0
    clock.now = T0 + 900
    assert await scheduler.run_due() == 1
    [mail] = await outbox(store)
    assert "второе" in mail["body_text"] and "первое" not in mail["body_text"]


async def test_at_most_one_mail_per_thread_per_interval(store: SQLiteReadStore, refs: ConsumerRunner) -> None:
    clock, thread = Clock(), Thread()
    scheduler = ChatMailScheduler(store, CONFIG, URL, lookup(refs), clock=clock)
    await feed(refs, CONFIG, *thread.setup(), thread.posted("staff", "сообщение-раз", T0))
    clock.now = T0 + 600
    assert await scheduler.run_due() == 1
    await feed(refs, CONFIG, thread.posted("staff", "сообщение-два", T0 + 700))
    clock.now = T0 + 1300
    assert await scheduler.run_due() == 0  # due, but an e-mail went 700 s ago
    clock.now = T0 + 600 + 3599
    assert await scheduler.run_due() == 0
    clock.now = T0 + 600 + 3600
    assert await scheduler.run_due() == 1
    mails = await outbox(store)
    assert (
        len(mails) == 2
        and "сообщение-два" in mails[1]["body_text"]
        and "сообщение-раз" not in mails[1]["body_text"]
    )


async def test_applicant_messages_go_to_the_staff_desk_only_when_configured(
    store: SQLiteReadStore, refs: ConsumerRunner
) -> None:
    clock, thread = Clock(), Thread()
    await feed(refs, CONFIG, *thread.setup(), thread.posted("consumer", "Когда подключат?", T0))
    clock.now = T0 + 10_000
    assert await ChatMailScheduler(store, CONFIG, URL, lookup(refs), clock=clock).run_due() == 0

    desk = ChatMailConfig(delay=600, interval=3600, staff_mail="desk@grid.example.ru")
    other = Thread()
    await feed(refs, desk, *other.setup(), other.posted("consumer", "Когда подключат?", T0))
    assert await ChatMailScheduler(store, desk, URL, lookup(refs), clock=clock).run_due() == 1
    [mail] = await outbox(store)
    assert mail["recipient"] == "desk@grid.example.ru" and "Заявитель написал" in mail["body_text"]


def test_the_settings_configure_the_chat_mail(monkeypatch: pytest.MonkeyPatch) -> None:
    """LK_STAFF_MAIL, LK_CHAT_MAIL_DELAY and LK_CHAT_MAIL_INTERVAL are fields of Settings."""
    monkeypatch.setenv("LK_STAFF_MAIL", " desk@grid.example.ru ")
    monkeypatch.setenv("LK_CHAT_MAIL_DELAY", "3")
    monkeypatch.setenv("LK_CHAT_MAIL_INTERVAL", "120")
    settings = Settings()
    assert (settings.staff_mail.strip(), settings.chat_mail_delay, settings.chat_mail_interval) == (
        "desk@grid.example.ru",
        3.0,
        120.0,
    )
    assert ChatMailConfig.from_settings(settings) == ChatMailConfig(3.0, 120.0, "desk@grid.example.ru")
    monkeypatch.delenv("LK_STAFF_MAIL")
    assert ChatMailConfig.from_settings(Settings()).staff_mail == ""  # no desk: nothing to staff


async def test_an_address_of_a_moment_ago_is_waited_for(store: SQLiteReadStore, refs: ConsumerRunner) -> None:
    """The applicant's account row lands while the due mail is decided: waited for exactly,
    the mail goes in this pass."""
    clock, thread = Clock(), Thread()
    registered, submitted = thread.setup()
    await feed(refs, CONFIG, submitted, thread.posted("staff", "Добрый день", T0))
    clock.now = T0 + 600
    scheduler = ChatMailScheduler(store, CONFIG, URL, lookup(refs), clock=clock)
    deciding = asyncio.create_task(scheduler.run_due())
    await asyncio.sleep(0.1)
    assert not deciding.done()
    await feed(refs, CONFIG, registered)
    assert await deciding == 1
    [mail] = await outbox(store)
    assert mail["recipient"] == "anna@example.ru" and "ТП-2026-000042" in mail["subject"]


async def test_an_address_that_does_not_come_is_tried_again_later(
    store: SQLiteReadStore, refs: ConsumerRunner
) -> None:
    clock, thread = Clock(), Thread()
    registered, submitted = thread.setup()
    await feed(refs, CONFIG, submitted, thread.posted("staff", "Добрый день", T0))
    clock.now = T0 + 600
    scheduler = ChatMailScheduler(store, CONFIG, URL, lookup(refs), clock=clock)
    assert await scheduler.run_due() == 0  # after the bounded wait
    await feed(refs, CONFIG, registered)
    clock.now = T0 + 629
    assert await scheduler.run_due() == 0
    clock.now = T0 + 630
    assert await scheduler.run_due() == 1
    [mail] = await outbox(store)
    assert mail["recipient"] == "anna@example.ru"


async def test_the_scheduler_sleeps_until_the_next_thread_is_due_or_it_is_woken(
    store: SQLiteReadStore, refs: ConsumerRunner
) -> None:
    """Nothing waiting: the longest sleep; a message waiting: until its delay is over; a new
    message (``wake``, from the projection's runner) is looked at at once, though the
    scheduler would otherwise sleep ten minutes."""
    clock, thread = Clock(), Thread()
    scheduler = ChatMailScheduler(store, CONFIG, URL, lookup(refs), clock=clock, idle=3600)
    assert await scheduler.next_due_in() == 3600
    await feed(refs, CONFIG, *thread.setup(), thread.posted("staff", "Пришлите план", T0))
    clock.now = T0 + 100
    assert await scheduler.next_due_in() == 500
    scheduler.idle = 10
    assert await scheduler.next_due_in() == 10

    scheduler.idle = 600
    clock.now = T0  # not due yet when the loop starts
    running = asyncio.create_task(scheduler.run())
    try:
        await asyncio.sleep(0.2)  # its first pass found nothing due: asleep for 600 s
        await feed(refs, CONFIG, thread.posted("staff", "И справку", T0))
        clock.now = T0 + 600
        scheduler.wake()
        for _ in range(500):  # up to 10 s
            if await outbox(store):
                break
            await asyncio.sleep(0.02)
        assert len(await outbox(store)) == 1
    finally:
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
