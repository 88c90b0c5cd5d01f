"""The notifier's mail outbox: a projection that turns events into e-mails to send,
and the sender loop that delivers them.

Consuming and sending are split. The projection writes one outbox row per event in the
consumer's transaction (row key = event id), so a redelivered event never makes a
second e-mail. The sender delivers due rows and marks them sent; while SMTP is down it
backs off and tries again, so mail is delayed, never lost.

Several senders (one per replica of the notifier) drain one outbox on PostgreSQL: each row
is sent inside a transaction that holds it (``SELECT … FOR UPDATE SKIP LOCKED`` on a row still
pending), from before the server is told about it until its "sent" mark is committed. Another
sender skips a row held, and one sent is no longer pending when it looks; a sender that dies
holding a row lets go of it with its session (the row is pending again, for whoever is next).
On SQLite (one process, one sender) there is nothing to share: the row is sent as before,
without a transaction held across the SMTP exchange (it would hold the store's one writer).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import structlog
from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.notifier.mailer import Mail, Mailer, MailerUnavailable
from shared import format as fmt
from shared.consumer import Projection
from shared.events import (
    AccountRegisteredV1,
    ApplicationSubmittedV1,
    DocumentsAddedV1,
    EmailConfirmationRequestedV1,
    Envelope,
    PasswordChangedV1,
    PasswordResetRequestedV1,
    StatusChangedV1,
)
from shared.readstore import PostgresReadStore, ReadStore, Row, Tx
from shared.settings import get_settings

log = structlog.get_logger(__name__)

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    keep_trailing_newline=True,
)

OUTBOX_DDL = (
    "CREATE TABLE IF NOT EXISTS notifier_outbox (event_id TEXT PRIMARY KEY, created_at TEXT NOT NULL,"
    " recipient TEXT NOT NULL, subject TEXT NOT NULL, body_text TEXT NOT NULL, body_html TEXT NOT NULL,"
    " message_id TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending',"
    " attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at DOUBLE PRECISION NOT NULL DEFAULT 0,"
    " sent_at TEXT, last_error TEXT)",
    "CREATE INDEX IF NOT EXISTS notifier_outbox_due ON notifier_outbox (status, next_attempt_at)",
)


def render(template: str, **context: object) -> tuple[str, str]:
    """(text, html) of ``template``, signed with the grid company's details; HTML is autoescaped."""
    settings = get_settings()
    context = {
        "company_name": settings.company_name,
        "company_phone": settings.company_phone,
        "company_address": settings.company_address,
        **context,
    }
    text = _templates.get_template(f"{template}.txt").render(**context)
    html = _templates.get_template(f"{template}.html").render(**context)
    return text, html


class MailOutbox(Projection):
    """identity.events and applications.events → e-mails to people (and to the staff desk,
    ``staff_mail``, when set)."""

    name = "notifier.outbox"  # topics: shared/topology.py
    ddl: Sequence[str] = OUTBOX_DDL

    def __init__(self, public_url: str, staff_mail: str = "") -> None:
        self.public_url = public_url.rstrip("/")
        self.staff_mail = staff_mail.strip()

    async def handle(self, tx: Tx, event: Envelope) -> None:
        payload = event.parse()
        if isinstance(payload, AccountRegisteredV1 | EmailConfirmationRequestedV1):
            if not payload.confirmation_token or payload.confirmation_expires_at is None:
                return  # created already confirmed (staff): nothing to confirm
            login = payload.login if isinstance(payload, AccountRegisteredV1) else ""
            link = f"{self.public_url}/confirm?token={payload.confirmation_token}"
            text, html = render(
                "confirm_email", login=login, link=link, expires=_when(payload.confirmation_expires_at)
            )
            subject = "Подтвердите адрес электронной почты — Личный кабинет ТП"
            await self._enqueue(tx, event, payload.email, subject, text, html)
        elif isinstance(payload, PasswordResetRequestedV1):
            link = f"{self.public_url}/reset?token={payload.reset_token}"
            text, html = render(
                "reset_password",
                name=payload.display_name,
                link=link,
                expires=_when(payload.reset_expires_at),
            )
            await self._enqueue(tx, event, payload.email, "Смена пароля — Личный кабинет ТП", text, html)
        elif isinstance(payload, PasswordChangedV1):
            text, html = render(
                "password_changed",
                name=payload.display_name,
                by_reset=payload.by_reset,
                reset_link=f"{self.public_url}/forgot",
            )
            await self._enqueue(tx, event, payload.email, "Пароль изменён — Личный кабинет ТП", text, html)
        elif isinstance(payload, ApplicationSubmittedV1):
            text, html = render(
                "submitted",
                name=payload.applicant_name,
                number=payload.number,
                type_title=payload.type_title,
                address=payload.object_address,
                link=f"{self.public_url}/applications/{payload.application_id}",
            )
            subject = f"Заявка {payload.number} принята — Личный кабинет ТП"
            await self._enqueue(tx, event, payload.applicant_email, subject, text, html)
        elif isinstance(payload, StatusChangedV1):
            due = fmt.day(payload.due)
            text, html = render(
                "status_changed",
                number=payload.number,
                status=payload.to_title,
                comment=payload.comment,
                due=due,
                link=f"{self.public_url}/applications/{payload.application_id}",
            )
            subject = f"Заявка {payload.number}: {payload.to_title} — Личный кабинет ТП"
            await self._enqueue(tx, event, payload.applicant_email, subject, text, html)
        elif isinstance(payload, DocumentsAddedV1):
            await self._documents_added(tx, event, payload)

    async def _documents_added(self, tx: Tx, event: Envelope, payload: DocumentsAddedV1) -> None:
        """The staff desk learns that requested documents arrived."""
        if not self.staff_mail:
            return
        text, html = render(
            "documents_added",
            number=payload.number,
            files=[d.name for d in payload.documents if d.name],
            link=f"{self.public_url}/applications/{payload.application_id}",
        )
        subject = f"Заявка {payload.number}: заявитель добавил документы — Личный кабинет ТП"
        await self._enqueue(tx, event, self.staff_mail, subject, text, html)

    async def _enqueue(self, tx: Tx, event: Envelope, to: str, subject: str, text: str, html: str) -> None:
        await enqueue(tx, event.id, event.type, to, subject, text, html)


async def enqueue(tx: Tx, key: str, kind: str, to: str, subject: str, text: str, html: str) -> None:
    """One e-mail to send, keyed by ``key`` (an event id, or another id that is the same each
    time the same e-mail is decided): a second row of the same key is not written. No row for an
    address of the reserved ``.invalid`` domain (RFC 2606: no mail can reach it; the seeded
    accounts of ``lk ops seed`` have such addresses)."""
    if to.rstrip().lower().endswith(".invalid"):
        return
    await tx.execute(
        "INSERT INTO notifier_outbox (event_id, created_at, recipient, subject, body_text, body_html,"
        " message_id, kind) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (event_id) DO NOTHING",
        key,
        datetime.now(UTC).isoformat(),
        to,
        subject,
        text,
        html,
        f"<{key}@lk-tp.local>",
        kind,
    )


def _when(moment: datetime) -> str:
    """In the grid company's time zone, labelled: ``05.03.2026 14:07 (МСК)``."""
    return fmt.when(moment)


RETRY_FLOOR = 0.5  # the shortest sleep of the sender after a pass that sent nothing

CHAT_DIGEST = "lk.chat.UnreadMessages"  # the kind of chat_schedule's digests
BULK_KINDS = (ApplicationSubmittedV1.TYPE, CHAT_DIGEST)
"""What can wait behind the rest: receipts of submissions and chat digests. Everything else
(status changes, confirmations, password resets, the process's letters) goes first."""


class Sender:
    """Delivers due outbox rows, the urgent before the bulk, over the mailer's connections;
    exponential backoff per row while SMTP fails.

    At most ONE message is ever between the server's acceptance and its "sent" mark, however
    many connections send: each connection names sender and recipient on its own, but the
    content (DATA, where the server accepts) and the mark that follows are taken one message
    at a time. A crash therefore repeats at most one message (record 4), as with a single
    connection."""

    def __init__(
        self, store: ReadStore, mailer: Mailer, retry_initial: float = 1.0, retry_max: float = 60.0
    ) -> None:
        self.store = store
        # Rows are held while sent where other senders may share the outbox (PostgreSQL).
        self.shared = isinstance(store, PostgresReadStore)
        self.skipped = 0  # rows another sender held or had sent meanwhile
        self.mailer = mailer
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self._wake = asyncio.Event()
        self._accepting = asyncio.Lock()  # DATA … "sent" mark: one message at a time

    def wake(self) -> None:
        self._wake.set()

    async def due(self, limit: int) -> list[Row]:
        """The rows to send now, urgent ones first, each group oldest first."""
        return await self.store.fetch(
            "SELECT event_id, recipient, subject, body_text, body_html, message_id, attempts"
            " FROM notifier_outbox WHERE status = 'pending' AND next_attempt_at <= $1"
            " ORDER BY CASE WHEN kind IN ($3, $4) THEN 1 ELSE 0 END, created_at LIMIT $2",
            time.time(),
            limit,
            *BULK_KINDS,
        )

    async def send_due(self, limit: int | None = None) -> int:
        """Send what is due now (at most ``limit``: by default a few per connection, so an
        urgent e-mail that arrives meanwhile waits for little); returns how many were sent.
        The first goes alone: while the server is down, one row is tried, not a batch."""
        rows = deque(await self.due(limit or 4 * self.mailer.connections))
        first = None
        while rows and first is None:  # None: another sender has it
            first = await self._deliver(rows.popleft())
        if not first:
            return 0
        sent = 1
        down = False

        async def connection() -> None:
            nonlocal sent, down
            while rows and not down:
                done = await self._deliver(rows.popleft())
                if done:
                    sent += 1
                elif done is not None:
                    down = True  # the server is down: the rest would fail too

        await asyncio.gather(*(connection() for _ in range(min(self.mailer.connections, len(rows)))))
        return sent

    @contextlib.asynccontextmanager
    async def _held(self, event_id: str) -> AsyncIterator[ReadStore | Tx | None]:
        """Where to write the row's marks while sending it: on a shared outbox, a transaction
        holding the row (None if another sender holds it or it is no longer pending), committed
        on exit; alone, the store itself."""
        if not self.shared:
            yield self.store
            return
        async with self.store.transaction() as tx:
            held = await tx.fetchval(
                "SELECT event_id FROM notifier_outbox WHERE event_id = $1 AND status = 'pending'"
                " FOR UPDATE SKIP LOCKED",
                event_id,
            )
            yield tx if held is not None else None

    async def _deliver(self, row: Row) -> bool | None:
        """True: sent; False: the server failed (retried later); None: another sender has it."""
        accepting: list[bool] = []  # set once this message holds the one place of DATA … mark
        try:
            async with self._held(row["event_id"]) as db:
                if db is None:
                    self.skipped += 1
                    return None
                return await self._send(db, row, accepting)
        finally:
            # After the row's transaction is committed (the ``with`` ends first): a message the
            # server accepted is "sent" in the store before the next one's DATA starts.
            if accepting:
                self._accepting.release()

    async def _send(self, db: ReadStore | Tx, row: Row, accepting: list[bool]) -> bool:
        mail = Mail(row["recipient"], row["subject"], row["body_text"], row["body_html"], row["message_id"])
        try:
            pending = await self.mailer.begin(mail)
            await self._accepting.acquire()
            accepting.append(True)
            await pending.finish()
            await db.execute(
                "UPDATE notifier_outbox SET status = 'sent', sent_at = $2, attempts = attempts + 1"
                " WHERE event_id = $1",
                row["event_id"],
                datetime.now(UTC).isoformat(),
            )
        except MailerUnavailable as exc:
            attempts = int(row["attempts"]) + 1
            delay = min(self.retry_initial * 2 ** (attempts - 1), self.retry_max)
            log.warning(
                "mail.retry", event_id=row["event_id"], attempts=attempts, retry_in=delay, error=str(exc)
            )
            await db.execute(
                "UPDATE notifier_outbox SET attempts = $2, next_attempt_at = $3, last_error = $4"
                " WHERE event_id = $1",
                row["event_id"],
                attempts,
                time.time() + delay,
                str(exc)[:500],
            )
            return False
        log.info("mail.sent", event_id=row["event_id"], to=row["recipient"])
        return True

    async def next_due_in(self, idle: float) -> float:
        """Seconds until the earliest pending row is due (a retry), at most ``idle``, at least
        ``RETRY_FLOOR`` (a server that just refused is not asked again at once)."""
        due = await self.store.fetchval(
            "SELECT MIN(next_attempt_at) FROM notifier_outbox WHERE status = 'pending'"
        )
        wait = idle if due is None else float(due) - time.time()
        return max(RETRY_FLOOR, min(idle, wait))

    async def run(self, idle: float = 10.0) -> None:
        """Send what is due, then sleep until the next retry is due or a new row is enqueued
        (``wake``); ``idle`` bounds the sleep (the slow fallback poll, decision record 29)."""
        while True:
            self._wake.clear()
            sent = await self.send_due()
            if sent == 0:
                wait = await self.next_due_in(idle)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
