"""Applications' read side.

- :class:`ApplicationsView` (applications.events): the consumer's tab «Заявки на услуги»,
  the application page (timeline, documents) and the staff queue.
- :class:`References` (identity.events, files.events): who accounts are, who owns which
  file, which standard form belongs to which application type.
Both are rebuildable from the beginning of their topics.
"""

from __future__ import annotations

from shared.consumer import Projection
from shared.events import (
    AccountRegisteredV1,
    ApplicationSubmittedV1,
    DocumentsAddedV1,
    Envelope,
    FileUploadedV1,
    FormPublishedV1,
    MessagePostedV1,
    MessageReadV1,
    ProfileUpdatedV1,
    StatusChangedV1,
)
from shared.readstore import Tx

VIEW_DDL = (
    "CREATE TABLE IF NOT EXISTS applications_rows (application_id TEXT PRIMARY KEY, number TEXT NOT NULL,"
    " applicant_id TEXT NOT NULL, applicant_name TEXT NOT NULL, applicant_email TEXT NOT NULL,"
    " type_code TEXT NOT NULL, type_title TEXT NOT NULL, power_kw DOUBLE PRECISION NOT NULL,"
    " object_address TEXT NOT NULL, status TEXT NOT NULL, status_since TEXT NOT NULL, due TEXT,"
    " submitted_at TEXT NOT NULL, updated_at TEXT NOT NULL, version INTEGER NOT NULL, search TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS applications_rows_applicant ON applications_rows (applicant_id, submitted_at)",
    "CREATE INDEX IF NOT EXISTS applications_rows_status ON applications_rows (status, due)",
    "CREATE TABLE IF NOT EXISTS applications_timeline (application_id TEXT NOT NULL, version INTEGER NOT NULL,"
    " from_status TEXT, to_status TEXT NOT NULL, actor_id TEXT NOT NULL, actor_role TEXT NOT NULL,"
    " actor_name TEXT NOT NULL, comment TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (application_id, version))",
    "CREATE TABLE IF NOT EXISTS applications_documents (application_id TEXT NOT NULL, file_id TEXT NOT NULL,"
    " slot TEXT NOT NULL, added_at TEXT NOT NULL, added_by TEXT NOT NULL, PRIMARY KEY (application_id, file_id))",
)

REFERENCES_DDL = (
    "CREATE TABLE IF NOT EXISTS applications_accounts (account_id TEXT PRIMARY KEY, email TEXT NOT NULL,"
    " display_name TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS applications_files (file_id TEXT PRIMARY KEY, owner_id TEXT NOT NULL,"
    " name TEXT NOT NULL, size BIGINT NOT NULL, content_type TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS applications_forms (type_code TEXT PRIMARY KEY, form_id TEXT NOT NULL,"
    " title TEXT NOT NULL, version INTEGER NOT NULL)",
)


def search_text(*parts: str) -> str:
    """Case-folded in Python: SQLite's lower() knows only ASCII."""
    return " ".join(parts).casefold()


class ApplicationsView(Projection):
    name = "applications.view"
    ddl = VIEW_DDL

    def __init__(self, topic: str) -> None:
        self.topics = (topic,)

    async def handle(self, tx: Tx, event: Envelope) -> None:
        payload = event.parse()
        at = event.time.isoformat()
        if isinstance(payload, ApplicationSubmittedV1):
            await tx.execute(
                "INSERT INTO applications_rows (application_id, number, applicant_id, applicant_name,"
                " applicant_email, type_code, type_title, power_kw, object_address, status, status_since, due,"
                " submitted_at, updated_at, version, search) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,"
                " 'submitted', $10, $11, $10, $10, $12, $13) ON CONFLICT (application_id) DO NOTHING",
                payload.application_id,
                payload.number,
                payload.applicant_id,
                payload.applicant_name,
                payload.applicant_email,
                payload.type_code,
                payload.type_title,
                payload.power_kw,
                payload.object_address,
                at,
                payload.due,
                event.sequence,
                search_text(payload.number, payload.applicant_name, payload.object_address),
            )
            await self._timeline(
                tx, event, None, "submitted", payload.applicant_id, "consumer", payload.applicant_name, ""
            )
            for doc in payload.documents:
                await self._document(
                    tx, payload.application_id, doc.file_id, doc.slot, at, payload.applicant_id
                )
        elif isinstance(payload, StatusChangedV1):
            await tx.execute(
                "UPDATE applications_rows SET status = $2, status_since = $3, due = $4, updated_at = $3,"
                " version = $5 WHERE application_id = $1",
                payload.application_id,
                payload.to_status,
                at,
                payload.due,
                event.sequence,
            )
            await self._timeline(
                tx,
                event,
                payload.from_status,
                payload.to_status,
                payload.actor_id,
                payload.actor_role,
                payload.actor_name,
                payload.comment,
            )
        elif isinstance(payload, DocumentsAddedV1):
            await tx.execute(
                "UPDATE applications_rows SET updated_at = $2, version = $3 WHERE application_id = $1",
                payload.application_id,
                at,
                event.sequence,
            )
            for doc in payload.documents:
                await self._document(tx, payload.application_id, doc.file_id, doc.slot, at, payload.actor_id)

    @staticmethod
    async def _timeline(
        tx: Tx,
        event: Envelope,
        from_status: str | None,
        to_status: str,
        actor_id: str,
        role: str,
        name: str,
        comment: str,
    ) -> None:
        await tx.execute(
            "INSERT INTO applications_timeline (application_id, version, from_status, to_status, actor_id,"
            " actor_role, actor_name, comment, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            " ON CONFLICT (application_id, version) DO NOTHING",
            event.subject,
            event.sequence,
            from_status,
            to_status,
            actor_id,
            role,
            name,
            comment,
            event.time.isoformat(),
        )

    @staticmethod
    async def _document(tx: Tx, application_id: str, file_id: str, slot: str, at: str, by: str) -> None:
        await tx.execute(
            "INSERT INTO applications_documents (application_id, file_id, slot, added_at, added_by)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (application_id, file_id) DO NOTHING",
            application_id,
            file_id,
            slot,
            at,
            by,
        )


class References(Projection):
    name = "applications.references"
    ddl = REFERENCES_DDL

    def __init__(self, identity_topic: str, files_topic: str) -> None:
        self.topics = (identity_topic, files_topic)

    async def handle(self, tx: Tx, event: Envelope) -> None:
        payload = event.parse()
        if isinstance(payload, AccountRegisteredV1):
            await tx.execute(
                "INSERT INTO applications_accounts (account_id, email, display_name) VALUES ($1, $2, $3)"
                " ON CONFLICT (account_id) DO NOTHING",
                payload.account_id,
                payload.email,
                payload.login,
            )
        elif isinstance(payload, ProfileUpdatedV1):
            await tx.execute(
                "UPDATE applications_accounts SET display_name = $2 WHERE account_id = $1",
                payload.account_id,
                payload.display_name,
            )
        elif isinstance(payload, FileUploadedV1):
            await tx.execute(
                "INSERT INTO applications_files (file_id, owner_id, name, size, content_type)"
                " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (file_id) DO NOTHING",
                payload.file_id,
                payload.owner_id,
                payload.name,
                payload.size,
                payload.content_type,
            )
        elif (
            isinstance(payload, FormPublishedV1)
            and payload.kind == "application"
            and payload.application_type_code
        ):
            await tx.execute(
                "INSERT INTO applications_forms (type_code, form_id, title, version) VALUES ($1, $2, $3, $4)"
                " ON CONFLICT (type_code) DO UPDATE SET form_id = excluded.form_id, title = excluded.title,"
                " version = excluded.version WHERE excluded.version >= applications_forms.version",
                payload.application_type_code,
                payload.form_id,
                payload.title,
                payload.version,
            )


CHAT_DDL = (
    "CREATE TABLE IF NOT EXISTS applications_chat_messages (thread_id TEXT NOT NULL, seq INTEGER NOT NULL,"
    " author_role TEXT NOT NULL, PRIMARY KEY (thread_id, seq))",
    "CREATE TABLE IF NOT EXISTS applications_chat_reads (thread_id TEXT NOT NULL, reader_role TEXT NOT NULL,"
    " up_to_seq INTEGER NOT NULL, PRIMARY KEY (thread_id, reader_role))",
)


class ChatCounters(Projection):
    """Unread chat messages per application, for the list and the staff queue."""

    name = "applications.chat"
    ddl = CHAT_DDL

    def __init__(self, chat_topic: str) -> None:
        self.topics = (chat_topic,)

    async def handle(self, tx: Tx, event: Envelope) -> None:
        payload = event.parse()
        if isinstance(payload, MessagePostedV1):
            await tx.execute(
                "INSERT INTO applications_chat_messages (thread_id, seq, author_role) VALUES ($1, $2, $3)"
                " ON CONFLICT (thread_id, seq) DO NOTHING",
                payload.thread_id,
                payload.seq,
                "staff" if payload.author_role == "staff" else "consumer",
            )
        elif isinstance(payload, MessageReadV1):
            await tx.execute(
                "INSERT INTO applications_chat_reads (thread_id, reader_role, up_to_seq) VALUES ($1, $2, $3)"
                " ON CONFLICT (thread_id, reader_role) DO UPDATE SET up_to_seq = excluded.up_to_seq"
                " WHERE excluded.up_to_seq > applications_chat_reads.up_to_seq",
                payload.thread_id,
                "staff" if payload.reader_role == "staff" else "consumer",
                payload.up_to_seq,
            )
