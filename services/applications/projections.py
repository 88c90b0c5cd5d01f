"""Applications' read side.

- :class:`ApplicationsView` (applications.events, identity.events): the consumer's tab
  «Заявки на услуги», the application page (timeline, contact) and the staff queue, with
  the applicant's current name («Фамилия Имя» from their profile).
- :class:`DocumentsView` (applications.events): the documents of each application, per
  checklist slot, and when each was added.
- :class:`References` (identity.events, files.events): who accounts are, who owns which
  file, which standard form belongs to which application type.
- :class:`ChatCounters` (chat.events): unread chat messages per application and side.
All are rebuildable from the beginning of their topics.
"""

from __future__ import annotations

from shared.consumer import Projection
from shared.events import (
    AccountRegisteredV1,
    ApplicationSubmittedV1,
    DocumentsAddedV1,
    Envelope,
    FileDeletedV1,
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
    # The applicant's name as the queue shows it, per account (follows ProfileUpdated).
    "CREATE TABLE IF NOT EXISTS applications_view_names (account_id TEXT PRIMARY KEY, name TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS applications_contacts (application_id TEXT PRIMARY KEY, phone TEXT NOT NULL,"
    " email TEXT NOT NULL, comment TEXT NOT NULL)",
)

# Keyed by slot too: one file may serve two checklist slots. It replaces
# applications_documents (keyed by file only), under a projection of its own so that a
# running deployment reads applications.events again from the start to fill it.
DOCUMENTS_DDL = (
    "CREATE TABLE IF NOT EXISTS applications_slots (application_id TEXT NOT NULL, slot TEXT NOT NULL,"
    " file_id TEXT NOT NULL, version INTEGER NOT NULL, added_at TEXT NOT NULL, added_by TEXT NOT NULL,"
    " PRIMARY KEY (application_id, slot, file_id))",
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


def queue_name(payload: ProfileUpdatedV1) -> str:
    """«Фамилия Имя», as staff file people; the display name (the login) before a profile."""
    return f"{payload.last_name} {payload.first_name}".strip() or payload.display_name


class ApplicationsView(Projection):
    name = "applications.view"
    ddl = VIEW_DDL

    def __init__(self, topic: str, identity_topic: str) -> None:
        self.topics = (topic, identity_topic)

    async def handle(self, tx: Tx, event: Envelope) -> None:
        payload = event.parse()
        if isinstance(payload, ApplicationSubmittedV1):
            await self._submitted(tx, event, payload)
        elif isinstance(payload, StatusChangedV1):
            at = event.time.isoformat()
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
                event.time.isoformat(),
                event.sequence,
            )
        elif isinstance(payload, ProfileUpdatedV1):
            await self._renamed(tx, payload.account_id, queue_name(payload))

    async def _submitted(self, tx: Tx, event: Envelope, payload: ApplicationSubmittedV1) -> None:
        # A profile applied before the application (the topics interleave) names it already,
        # so live and rebuilt rows agree whatever the order.
        name = await tx.fetchval(
            "SELECT name FROM applications_view_names WHERE account_id = $1", payload.applicant_id
        )
        name = name or payload.applicant_name
        at = event.time.isoformat()
        await tx.execute(
            "INSERT INTO applications_rows (application_id, number, applicant_id, applicant_name,"
            " applicant_email, type_code, type_title, power_kw, object_address, status, status_since, due,"
            " submitted_at, updated_at, version, search) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,"
            " 'submitted', $10, $11, $10, $10, $12, $13) ON CONFLICT (application_id) DO NOTHING",
            payload.application_id,
            payload.number,
            payload.applicant_id,
            name,
            payload.applicant_email,
            payload.type_code,
            payload.type_title,
            payload.power_kw,
            payload.object_address,
            at,
            payload.due,
            event.sequence,
            search_text(payload.number, name, payload.object_address),
        )
        await tx.execute(
            "INSERT INTO applications_contacts (application_id, phone, email, comment) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (application_id) DO NOTHING",
            payload.application_id,
            payload.contact_phone,
            payload.contact_email,
            payload.comment,
        )
        await self._timeline(
            tx, event, None, "submitted", payload.applicant_id, "consumer", payload.applicant_name, ""
        )

    @staticmethod
    async def _renamed(tx: Tx, account_id: str, name: str) -> None:
        await tx.execute(
            "INSERT INTO applications_view_names (account_id, name) VALUES ($1, $2)"
            " ON CONFLICT (account_id) DO UPDATE SET name = excluded.name",
            account_id,
            name,
        )
        rows = await tx.fetch(
            "SELECT application_id, number, object_address FROM applications_rows WHERE applicant_id = $1",
            account_id,
        )
        await tx.executemany(
            "UPDATE applications_rows SET applicant_name = $2, search = $3 WHERE application_id = $1",
            [(r["application_id"], name, search_text(r["number"], name, r["object_address"])) for r in rows],
        )

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


class DocumentsView(Projection):
    name = "applications.documents"
    ddl = DOCUMENTS_DDL

    def __init__(self, topic: str) -> None:
        self.topics = (topic,)

    async def handle(self, tx: Tx, event: Envelope) -> None:
        payload = event.parse()
        if isinstance(payload, ApplicationSubmittedV1):
            by = payload.applicant_id
        elif isinstance(payload, DocumentsAddedV1):
            by = payload.actor_id
        else:
            return
        await tx.executemany(
            "INSERT INTO applications_slots (application_id, slot, file_id, version, added_at, added_by)"
            " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (application_id, slot, file_id) DO NOTHING",
            [
                (payload.application_id, d.slot, d.file_id, event.sequence, event.time.isoformat(), by)
                for d in payload.documents
            ],
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
        elif isinstance(payload, FileDeletedV1):
            # A deleted file can no longer be attached (it was attached to nothing).
            await tx.execute("DELETE FROM applications_files WHERE file_id = $1", payload.file_id)
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
