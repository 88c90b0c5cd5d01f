"""E-mail about chat messages that wait unread.

A message waits for its recipient side: a staff message for the applicant, an applicant's
message for staff (mailed only when ``LK_STAFF_MAIL`` names a desk address). When the oldest
unread message of a thread has waited ``LK_CHAT_MAIL_DELAY`` seconds (600) and the side got
no chat e-mail about this thread in the last ``LK_CHAT_MAIL_INTERVAL`` seconds (3600), one
e-mail goes out with the unread texts and a link to the application; a read receipt that
comes first cancels it.

State lives in the notifier's read store, so it survives restarts:
- :class:`ChatMailProjection` (chat.events, identity.events, applications.events) keeps the
  recipients' addresses, the application numbers, the unread messages and, per thread and
  side, what waits since when — in the consumer's transaction, exactly once in effect;
- :class:`ChatMailScheduler` turns a due thread into one row of the notifier's mail outbox,
  keyed by a deterministic id (thread, side, last unread seq), removing the waiting entry in
  the same transaction: a crash repeats nothing, the outbox's Sender delivers it once.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog

from services.notifier.outbox import OUTBOX_DDL, render
from shared import format as fmt
from shared.consumer import ConsumerRunner, Projection
from shared.events import (
    AccountRegisteredV1,
    ApplicationSubmittedV1,
    Envelope,
    MessagePostedV1,
    MessageReadV1,
    ProfileUpdatedV1,
)
from shared.readstore import ReadStore, Tx
from shared.runtime import Workers
from shared.settings import Settings
from shared.transport import Transport

log = structlog.get_logger(__name__)

_MAIL_NS = uuid.UUID("3c7d9a51-0e62-4f0b-a8f4-5b2e61d9c7a3")
KIND = "lk.chat.UnreadMessages"
SHOWN = 10  # newest unread messages quoted in one e-mail

CHAT_MAIL_DDL = (
    "CREATE TABLE IF NOT EXISTS notifier_chat_accounts (account_id TEXT PRIMARY KEY, email TEXT NOT NULL,"
    " name TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS notifier_chat_applications (application_id TEXT PRIMARY KEY,"
    " number TEXT NOT NULL, applicant_id TEXT NOT NULL)",
    # Unread messages a mail may quote (deleted once read or mailed).
    "CREATE TABLE IF NOT EXISTS notifier_chat_messages (thread_id TEXT NOT NULL, seq BIGINT NOT NULL,"
    " side TEXT NOT NULL, author_name TEXT NOT NULL, author_role TEXT NOT NULL, text TEXT NOT NULL,"
    " files INTEGER NOT NULL, at DOUBLE PRECISION NOT NULL, PRIMARY KEY (thread_id, seq))",
    # Per thread and recipient side: unread since (the oldest unread message), due at.
    "CREATE TABLE IF NOT EXISTS notifier_chat_waiting (thread_id TEXT NOT NULL, side TEXT NOT NULL,"
    " applicant_id TEXT NOT NULL, first_seq BIGINT NOT NULL, last_seq BIGINT NOT NULL,"
    " due_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (thread_id, side))",
    "CREATE INDEX IF NOT EXISTS notifier_chat_waiting_due ON notifier_chat_waiting (due_at)",
    "CREATE TABLE IF NOT EXISTS notifier_chat_mailed (thread_id TEXT NOT NULL, side TEXT NOT NULL,"
    " mailed_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (thread_id, side))",
)


@dataclass(frozen=True)
class ChatMailConfig:
    """``LK_CHAT_MAIL_DELAY``, ``LK_CHAT_MAIL_INTERVAL``, ``LK_STAFF_MAIL`` (fields of
    :class:`shared.settings.Settings`)."""

    delay: float = 600.0
    interval: float = 3600.0
    staff_mail: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> ChatMailConfig:
        return cls(
            delay=settings.chat_mail_delay,
            interval=settings.chat_mail_interval,
            staff_mail=settings.staff_mail.strip(),
        )


def mail_id(thread_id: str, side: str, last_seq: int) -> str:
    return str(uuid.uuid5(_MAIL_NS, f"chat/{thread_id}/{side}/{last_seq}"))


class ChatMailProjection(Projection):
    name = "notifier.chat_mail"
    ddl = CHAT_MAIL_DDL

    def __init__(self, topics: tuple[str, ...], config: ChatMailConfig) -> None:
        self.topics = topics
        self.config = config

    async def handle(self, tx: Tx, event: Envelope) -> None:
        payload = event.parse()
        if isinstance(payload, AccountRegisteredV1):
            await tx.execute(
                "INSERT INTO notifier_chat_accounts (account_id, email, name) VALUES ($1, $2, $3)"
                " ON CONFLICT (account_id) DO NOTHING",
                payload.account_id,
                payload.email,
                payload.login,
            )
        elif isinstance(payload, ProfileUpdatedV1):
            await tx.execute(
                "UPDATE notifier_chat_accounts SET name = $2 WHERE account_id = $1",
                payload.account_id,
                payload.display_name,
            )
        elif isinstance(payload, ApplicationSubmittedV1):
            await tx.execute(
                "INSERT INTO notifier_chat_applications (application_id, number, applicant_id)"
                " VALUES ($1, $2, $3) ON CONFLICT (application_id) DO NOTHING",
                payload.application_id,
                payload.number,
                payload.applicant_id,
            )
        elif isinstance(payload, MessagePostedV1):
            await self._posted(tx, payload, event.time.timestamp())
        elif isinstance(payload, MessageReadV1):
            await self._read(tx, payload)

    async def _posted(self, tx: Tx, message: MessagePostedV1, at: float) -> None:
        side = "consumer" if message.author_role == "staff" else "staff"
        if side == "staff" and not self.config.staff_mail:
            return  # staff read the chat in the queue; no desk address configured
        await tx.execute(
            "INSERT INTO notifier_chat_messages (thread_id, seq, side, author_name, author_role, text, files, at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (thread_id, seq) DO NOTHING",
            message.thread_id,
            message.seq,
            side,
            message.author_name,
            message.author_role,
            message.text,
            len(message.attachments),
            at,
        )
        await tx.execute(
            "INSERT INTO notifier_chat_waiting (thread_id, side, applicant_id, first_seq, last_seq, due_at)"
            " VALUES ($1, $2, $3, $4, $4, $5) ON CONFLICT (thread_id, side)"
            " DO UPDATE SET last_seq = excluded.last_seq",
            message.thread_id,
            side,
            message.applicant_id,
            message.seq,
            at + self.config.delay,
        )

    async def _read(self, tx: Tx, receipt: MessageReadV1) -> None:
        side = receipt.reader_role
        await tx.execute(
            "DELETE FROM notifier_chat_messages WHERE thread_id = $1 AND side = $2 AND seq <= $3",
            receipt.thread_id,
            side,
            receipt.up_to_seq,
        )
        oldest = await tx.fetchrow(
            "SELECT seq, at FROM notifier_chat_messages WHERE thread_id = $1 AND side = $2 ORDER BY seq LIMIT 1",
            receipt.thread_id,
            side,
        )
        if oldest is None:
            await tx.execute(
                "DELETE FROM notifier_chat_waiting WHERE thread_id = $1 AND side = $2",
                receipt.thread_id,
                side,
            )
        else:  # read part of them: the wait starts at the oldest still unread
            await tx.execute(
                "UPDATE notifier_chat_waiting SET first_seq = $3, due_at = $4 WHERE thread_id = $1 AND side = $2",
                receipt.thread_id,
                side,
                int(oldest["seq"]),
                float(oldest["at"]) + self.config.delay,
            )


class ChatMailScheduler:
    """Enqueues the e-mail of every thread whose unread messages are due."""

    def __init__(
        self,
        store: ReadStore,
        config: ChatMailConfig,
        public_url: str,
        on_enqueued: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.config = config
        self.public_url = public_url.rstrip("/")
        self.on_enqueued = on_enqueued
        self.clock = clock

    async def run_due(self) -> int:
        """One pass; returns how many e-mails were enqueued."""
        now = self.clock()
        due = await self.store.fetch(
            "SELECT thread_id, side FROM notifier_chat_waiting WHERE due_at <= $1 ORDER BY due_at LIMIT 100",
            now,
        )
        enqueued = 0
        for row in due:
            if await self._one(row["thread_id"], row["side"], now):
                enqueued += 1
        if enqueued:
            self.on_enqueued()
        return enqueued

    async def _one(self, thread_id: str, side: str, now: float) -> bool:
        async with self.store.transaction() as tx:
            mailed = await tx.fetchval(
                "SELECT mailed_at FROM notifier_chat_mailed WHERE thread_id = $1 AND side = $2",
                thread_id,
                side,
            )
            if mailed is not None and now - float(mailed) < self.config.interval:
                # At most one e-mail per thread per interval: wait for the interval's end.
                await tx.execute(
                    "UPDATE notifier_chat_waiting SET due_at = $3 WHERE thread_id = $1 AND side = $2",
                    thread_id,
                    side,
                    float(mailed) + self.config.interval,
                )
                return False
            # Taking the row (DELETE … RETURNING) decides the race with a read receipt: whoever
            # commits first wins; a receipt that removed it first means nothing is sent.
            taken = await tx.fetchrow(
                "DELETE FROM notifier_chat_waiting WHERE thread_id = $1 AND side = $2 AND due_at <= $3"
                " RETURNING applicant_id, first_seq, last_seq",
                thread_id,
                side,
                now,
            )
            if taken is None:
                return False
            recipient = await self._recipient(tx, side, taken["applicant_id"])
            if not recipient:
                # The address has not arrived yet (identity.events lag): try again shortly.
                await tx.execute(
                    "INSERT INTO notifier_chat_waiting (thread_id, side, applicant_id, first_seq, last_seq, due_at)"
                    " VALUES ($1, $2, $3, $4, $5, $6)",
                    thread_id,
                    side,
                    taken["applicant_id"],
                    taken["first_seq"],
                    taken["last_seq"],
                    now + 30,
                )
                return False
            messages = await tx.fetch(
                "SELECT seq, author_name, author_role, text, files, at FROM notifier_chat_messages"
                " WHERE thread_id = $1 AND side = $2 AND seq <= $3 ORDER BY seq",
                thread_id,
                side,
                taken["last_seq"],
            )
            number = await tx.fetchval(
                "SELECT number FROM notifier_chat_applications WHERE application_id = $1", thread_id
            )
            key = mail_id(thread_id, side, int(taken["last_seq"]))
            text, html = render(
                "chat_unread",
                number=number or "",
                to_staff=side == "staff",
                count=len(messages),
                messages=[_quoted(m) for m in messages[-SHOWN:]],
                more=max(0, len(messages) - SHOWN),
                link=f"{self.public_url}/applications/{thread_id}",
            )
            subject = (
                f"Новое сообщение по заявке {number}" if number else "Новое сообщение в переписке по заявке"
            )
            await tx.execute(
                "INSERT INTO notifier_outbox (event_id, created_at, recipient, subject, body_text, body_html,"
                " message_id, kind) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (event_id) DO NOTHING",
                key,
                datetime.now(UTC).isoformat(),
                recipient,
                subject + " — Личный кабинет ТП",
                text,
                html,
                f"<{key}@lk-tp.local>",
                KIND,
            )
            await tx.execute(
                "INSERT INTO notifier_chat_mailed (thread_id, side, mailed_at) VALUES ($1, $2, $3)"
                " ON CONFLICT (thread_id, side) DO UPDATE SET mailed_at = excluded.mailed_at",
                thread_id,
                side,
                now,
            )
            await tx.execute(
                "DELETE FROM notifier_chat_messages WHERE thread_id = $1 AND side = $2 AND seq <= $3",
                thread_id,
                side,
                taken["last_seq"],
            )
        log.info("chat_mail.enqueued", thread=thread_id, side=side, messages=len(messages))
        return True

    async def _recipient(self, tx: Tx, side: str, applicant_id: str) -> str:
        if side == "staff":
            return self.config.staff_mail
        return str(
            await tx.fetchval("SELECT email FROM notifier_chat_accounts WHERE account_id = $1", applicant_id)
            or ""
        )

    async def run(self) -> None:
        tick = max(0.2, min(1.0, self.config.delay / 4))
        while True:
            try:
                await self.run_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("chat_mail.failed")
            await asyncio.sleep(tick)


def _quoted(row: dict[str, object]) -> dict[str, object]:
    at = fmt.when(float(str(row["at"])))
    author = str(row["author_name"]) or ("Сотрудник" if row["author_role"] == "staff" else "Заявитель")
    if row["author_role"] == "staff":
        author += " (сетевая организация)"
    return {"author": author, "at": at, "text": row["text"], "files": row["files"]}


async def start_chat_mail(
    settings: Settings,
    store: ReadStore,
    transport: Transport,
    workers: Workers,
    wake_sender: Callable[[], None],
) -> None:
    """Wire the projection and the scheduler into the notifier process."""
    config = ChatMailConfig.from_settings(settings)
    projection = ChatMailProjection(
        (settings.topic("chat"), settings.topic("identity"), settings.topic("applications")), config
    )
    runner = ConsumerRunner(projection, transport, store)
    await store.migrate(OUTBOX_DDL)
    await runner.setup()
    scheduler = ChatMailScheduler(store, config, settings.public_url, wake_sender)
    workers.start("notifier.chat_mail", runner.run)
    workers.start("notifier.chat_mail_scheduler", scheduler.run)
    log.info(
        "chat_mail.started", delay=config.delay, interval=config.interval, staff_mail=bool(config.staff_mail)
    )
