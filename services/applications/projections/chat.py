"""Unread chat messages per application and side (chat.events), for the lists and the staff
queue: the messages' authors' sides and each side's read mark."""

from __future__ import annotations

from shared.consumer import Projection
from shared.events import Envelope, MessagePostedV1, MessageReadV1
from shared.readstore import Tx

CHAT_DDL = (
    "CREATE TABLE IF NOT EXISTS applications_chat_messages (thread_id TEXT NOT NULL, seq INTEGER NOT NULL,"
    " author_role TEXT NOT NULL, PRIMARY KEY (thread_id, seq))",
    "CREATE TABLE IF NOT EXISTS applications_chat_reads (thread_id TEXT NOT NULL, reader_role TEXT NOT NULL,"
    " up_to_seq INTEGER NOT NULL, PRIMARY KEY (thread_id, reader_role))",
)


def side(role: str) -> str:
    return "staff" if role == "staff" else "consumer"


class ChatCounters(Projection):
    name = "applications.chat"
    ddl = CHAT_DDL

    async def handle(self, tx: Tx, event: Envelope) -> None:
        payload = event.parse()
        if isinstance(payload, MessagePostedV1):
            await tx.execute(
                "INSERT INTO applications_chat_messages (thread_id, seq, author_role) VALUES ($1, $2, $3)"
                " ON CONFLICT (thread_id, seq) DO NOTHING",
                payload.thread_id,
                payload.seq,
                side(payload.author_role),
            )
        elif isinstance(payload, MessageReadV1):
            await tx.execute(
                "INSERT INTO applications_chat_reads (thread_id, reader_role, up_to_seq) VALUES ($1, $2, $3)"
                " ON CONFLICT (thread_id, reader_role) DO UPDATE SET up_to_seq = excluded.up_to_seq"
                " WHERE excluded.up_to_seq > applications_chat_reads.up_to_seq",
                payload.thread_id,
                side(payload.reader_role),
                payload.up_to_seq,
            )
