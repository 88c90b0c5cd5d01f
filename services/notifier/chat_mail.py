"""E-mail about chat messages that wait unread: what waits, and since when.

A message waits for its recipient side: a staff message for the applicant, an applicant's
message for staff (mailed only when ``LK_STAFF_MAIL`` names a desk address). When the oldest
unread message of a thread has waited ``LK_CHAT_MAIL_DELAY`` seconds (600) and the side got
no chat e-mail about this thread in the last ``LK_CHAT_MAIL_INTERVAL`` seconds (3600), one
e-mail goes out with the unread texts and a link to the application; a read receipt that
comes first cancels it.

State lives in the notifier's read store, so it survives restarts:
- :class:`ChatMailProjection` (chat.events) keeps the unread messages and, per thread and
  side, what waits since when — in the consumer's transaction, exactly once in effect;
- the recipients' addresses and the application numbers are the shared reference rows
  (:func:`references`, projection ``notifier.refs``: ``notifier_ref_accounts``,
  ``notifier_ref_applications``);
- :class:`services.notifier.chat_schedule.ChatMailScheduler` turns a due thread into one
  row of the mail outbox.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.consumer import Projection
from shared.events import Envelope, MessagePostedV1, MessageReadV1
from shared.readstore import Tx
from shared.references import Kind, References
from shared.settings import Settings

KINDS: tuple[Kind, ...] = ("accounts", "applications")

CHAT_MAIL_DDL = (
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


class ChatMailProjection(Projection):
    """Per thread and recipient side: the unread messages and since when they wait."""

    name = "notifier.chat_mail"  # topics: shared/topology.py
    ddl = CHAT_MAIL_DDL

    def __init__(self, config: ChatMailConfig) -> None:
        self.config = config

    async def handle(self, tx: Tx, event: Envelope) -> None:
        payload = event.parse()
        if isinstance(payload, MessagePostedV1):
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


def references() -> References:
    """The reference rows chat mail reads: the applicant's address, the application's number."""
    return References("notifier", KINDS)
