"""services/notifier/outbox.py: one outbox row per event, and the Sender with FakeMailer."""

from __future__ import annotations

import asyncio
import html
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from services.notifier.mailer import FakeMailer
from services.notifier.outbox import OUTBOX_DDL, RETRY_FLOOR, MailOutbox, Sender
from shared.events import (
    AccountRegisteredV1,
    DocumentRef,
    DocumentsAddedV1,
    EmailConfirmationRequestedV1,
    EmailConfirmedV1,
    Envelope,
    PasswordChangedV1,
    PasswordResetRequestedV1,
)
from shared.readstore import SQLiteReadStore

PUBLIC_URL = "https://lk.example.ru"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteReadStore]:
    store = SQLiteReadStore(tmp_path / "notifier.sqlite")
    await store.open()
    await store.migrate(OUTBOX_DDL)
    yield store
    await store.close()


def registered(login: str = "ivan_petrov", token: str | None = None) -> Envelope:
    account_id = str(uuid.uuid4())
    return AccountRegisteredV1(
        account_id=account_id,
        login=login,
        email="ivan@example.ru",
        account_type="consumer",
        confirmation_token=token or f"tok{uuid.uuid4().hex}.mac",
        confirmation_expires_at=datetime.now(UTC) + timedelta(days=2),
    ).envelope(source="identity", subject=account_id, sequence=1, position=1)


async def handle(store: SQLiteReadStore, *events: Envelope) -> None:
    outbox = MailOutbox(PUBLIC_URL + "/")
    for event in events:
        async with store.transaction() as tx:
            await outbox.handle(tx, event)


async def outbox_rows(store: SQLiteReadStore) -> list[dict[str, Any]]:
    return await store.fetch("SELECT * FROM notifier_outbox ORDER BY created_at")


async def test_one_row_per_event_even_when_handled_twice(store: SQLiteReadStore) -> None:
    first, second = registered(), registered()
    await handle(store, first, first, second, first)
    rows = await outbox_rows(store)
    assert sorted(r["event_id"] for r in rows) == sorted([first.id, second.id])
    assert {r["status"] for r in rows} == {"pending"}


async def test_confirmation_requested_is_mailed_and_other_events_are_not(store: SQLiteReadStore) -> None:
    account_id = str(uuid.uuid4())
    resend = EmailConfirmationRequestedV1(
        account_id=account_id,
        email="ivan@example.ru",
        confirmation_token="abc.def",
        confirmation_expires_at=datetime.now(UTC) + timedelta(days=2),
    ).envelope(source="identity", subject=account_id, sequence=3, position=7)
    confirmed = EmailConfirmedV1(account_id=account_id, email="ivan@example.ru").envelope(
        source="identity", subject=account_id, sequence=4, position=8
    )
    await handle(store, resend, confirmed)
    rows = await outbox_rows(store)
    assert [(r["event_id"], r["recipient"]) for r in rows] == [(resend.id, "ivan@example.ru")]
    assert f"{PUBLIC_URL}/confirm?token=abc.def" in str(rows[0]["body_text"])


async def test_sender_sends_once_and_marks_sent(store: SQLiteReadStore) -> None:
    event = registered(token="AAAA.BBBB")
    await handle(store, event)
    mailer = FakeMailer()
    sender = Sender(store, mailer)
    assert await sender.send_due() == 1
    assert await sender.send_due() == 0
    assert len(mailer.sent) == 1
    mail = mailer.sent[0]
    assert mail.to == "ivan@example.ru"
    assert mail.message_id == f"<{event.id}@lk-tp.local>"
    assert f"{PUBLIC_URL}/confirm?token=AAAA.BBBB" in mail.text
    assert f'href="{PUBLIC_URL}/confirm?token=AAAA.BBBB"' in mail.html
    (row,) = await outbox_rows(store)
    assert (row["status"], row["attempts"]) == ("sent", 1)
    assert row["sent_at"] is not None


async def test_html_is_escaped(store: SQLiteReadStore) -> None:
    login = "<b>x</b>"
    await handle(store, registered(login=login))
    mailer = FakeMailer()
    assert await Sender(store, mailer).send_due() == 1
    mail = mailer.sent[0]
    assert login not in mail.html
    assert html.escape(login) in mail.html
    assert login in mail.text  # plain text is not HTML: kept as typed


async def test_failing_mailer_keeps_the_row_and_retries_later(store: SQLiteReadStore) -> None:
    await handle(store, registered(), registered())
    mailer = FakeMailer(failing=True)
    sender = Sender(store, mailer, retry_initial=0.3, retry_max=5)
    before = time.time()
    assert await sender.send_due() == 0
    rows = await outbox_rows(store)
    assert {r["status"] for r in rows} == {"pending"}
    tried = [r for r in rows if r["attempts"] == 1]
    assert len(tried) == 1  # the server is down: the second row is not even tried
    assert float(tried[0]["next_attempt_at"]) >= before + 0.3
    assert "fake outage" in str(tried[0]["last_error"])

    mailer.failing = False
    sent_now = await sender.send_due()  # only the untried row is due
    assert sent_now == 1 and len(mailer.sent) == 1
    await asyncio.sleep(0.35)
    assert await sender.send_due() == 1
    assert await sender.send_due() == 0
    assert sorted(m.message_id for m in mailer.sent) == sorted(r["message_id"] for r in rows)
    rows = await outbox_rows(store)
    assert {r["status"] for r in rows} == {"sent"}
    assert sorted(r["attempts"] for r in rows) == [1, 2]


async def test_staff_registration_without_link_is_not_mailed(store: SQLiteReadStore) -> None:
    account_id = str(uuid.uuid4())
    staff = AccountRegisteredV1(
        account_id=account_id, login="staff_1", email="s@example.ru", account_type="staff", roles=["staff"]
    ).envelope(source="identity", subject=account_id, sequence=1, position=1)
    await handle(store, staff)
    assert await outbox_rows(store) == []


async def test_password_reset_and_change_are_mailed(store: SQLiteReadStore) -> None:
    account_id = str(uuid.uuid4())
    name = "<i>Иван</i>"
    reset = PasswordResetRequestedV1(
        account_id=account_id,
        email="ivan@example.ru",
        display_name=name,
        reset_token="RRR.SSS",
        reset_expires_at=datetime.now(UTC) + timedelta(hours=1),
    ).envelope(source="identity", subject=account_id, sequence=5, position=9)
    changed = PasswordChangedV1(
        account_id=account_id, email="ivan@example.ru", display_name=name, by_reset=True
    ).envelope(source="identity", subject=account_id, sequence=6, position=10)
    await handle(store, reset, changed)
    mailer = FakeMailer()
    assert await Sender(store, mailer).send_due() == 2
    by_id = {m.message_id: m for m in mailer.sent}
    reset_mail, changed_mail = by_id[f"<{reset.id}@lk-tp.local>"], by_id[f"<{changed.id}@lk-tp.local>"]
    assert f"{PUBLIC_URL}/reset?token=RRR.SSS" in reset_mail.text
    assert f'href="{PUBLIC_URL}/reset?token=RRR.SSS"' in reset_mail.html
    assert f"{PUBLIC_URL}/forgot" in changed_mail.text
    for mail in (reset_mail, changed_mail):
        assert mail.to == "ivan@example.ru"
        assert name not in mail.html and html.escape(name) in mail.html


def documents_added() -> Envelope:
    application = str(uuid.uuid4())
    return DocumentsAddedV1(
        application_id=application,
        number="ТП-2026-000321",
        applicant_id=str(uuid.uuid4()),
        documents=[
            DocumentRef(slot="site_plan", file_id="f1", name="План <участка>.pdf"),
            DocumentRef(slot="title_document", file_id="f1", name="План <участка>.pdf"),
            DocumentRef(slot="archive", file_id="f2"),  # published before names were
        ],
        actor_id="applicant",
    ).envelope(source="applications", subject=application, sequence=4, position=9)


async def test_documents_sent_on_request_are_mailed_to_the_staff_desk(store: SQLiteReadStore) -> None:
    event = documents_added()
    for staff_mail in ("", "desk@grid.example.ru"):  # no desk address: nothing
        outbox = MailOutbox(PUBLIC_URL, staff_mail=staff_mail)
        async with store.transaction() as tx:
            await outbox.handle(tx, event)
    [row] = await outbox_rows(store)
    assert row["recipient"] == "desk@grid.example.ru"
    assert row["subject"].startswith("Заявка ТП-2026-000321: заявитель добавил документы")
    assert f"{PUBLIC_URL}/applications/{event.subject}" in row["body_text"]
    assert row["body_text"].count("План <участка>.pdf") == 2
    assert "План &lt;участка&gt;.pdf" in row["body_html"]


async def test_the_idle_sender_sleeps_until_a_retry_is_due_or_it_is_woken(store: SQLiteReadStore) -> None:
    """Nothing pending: the longest sleep; a row to retry later: until it is due; a new row
    (``wake``) is sent at once, though the sender would otherwise sleep ten minutes."""
    mailer = FakeMailer(failing=True)
    sender = Sender(store, mailer, retry_initial=30, retry_max=60)
    assert await sender.next_due_in(600) == 600
    await handle(store, registered())
    assert await sender.next_due_in(600) == RETRY_FLOOR  # due now
    assert await sender.send_due() == 0  # refused: retried in 30 s
    assert 25 < await sender.next_due_in(600) <= 30
    assert await sender.next_due_in(10) == 10

    mailer.failing = False
    await store.execute("DELETE FROM notifier_outbox")
    running = asyncio.create_task(sender.run(idle=600))
    try:
        await asyncio.sleep(0.2)  # its first pass found nothing: asleep for ten minutes
        await handle(store, registered())
        sender.wake()
        for _ in range(500):  # up to 10 s
            if mailer.sent:
                break
            await asyncio.sleep(0.02)
        assert len(mailer.sent) == 1
    finally:
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
