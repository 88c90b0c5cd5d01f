"""The files service's read side.

- :class:`Catalog` (files.events): the files each account may list (a deleted one is
  gone), the people they are shared with, and every published version of every standard form.
- :class:`AttachmentGrants` (applications.events, chat.events): when a file's owner
  attaches it to an application or a chat message, the attachment is recorded on the file
  (staff may then read it) and the application's applicant may read it. It issues an
  idempotent command, so a replay records nothing twice.

Both are rebuildable from the beginning of their topics (declared in shared/topology.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import structlog

from services.files.app import FilesApp, Grant
from shared.consumer import Projection
from shared.events import (
    ApplicationSubmittedV1,
    DocumentsAddedV1,
    Envelope,
    FileDeletedV1,
    FilePartiesGrantedV1,
    FileUploadedV1,
    FormPublishedV1,
    MessagePostedV1,
)
from shared.process_events import (
    CompanyDocumentPlacedV1,
    NoticeReceivedV1,
    OfferPlacedV1,
    TerminationRequestedV1,
)
from shared.readstore import Tx
from shared.runtime import command

log = structlog.get_logger(__name__)

CATALOG_DDL = (
    "CREATE TABLE IF NOT EXISTS files_files (file_id TEXT PRIMARY KEY, owner_id TEXT NOT NULL,"
    " name TEXT NOT NULL, size BIGINT NOT NULL, content_type TEXT NOT NULL, sha256 TEXT NOT NULL,"
    " archive_entries TEXT, uploaded_at TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS files_files_owner ON files_files (owner_id, uploaded_at)",
    "CREATE TABLE IF NOT EXISTS files_parties (file_id TEXT NOT NULL, account_id TEXT NOT NULL,"
    " granted_at TEXT NOT NULL, PRIMARY KEY (file_id, account_id))",
    "CREATE INDEX IF NOT EXISTS files_parties_account ON files_parties (account_id)",
    "CREATE TABLE IF NOT EXISTS files_forms (form_id TEXT PRIMARY KEY, code TEXT NOT NULL,"
    " title TEXT NOT NULL, kind TEXT NOT NULL, application_type_code TEXT, version INTEGER NOT NULL,"
    " format TEXT NOT NULL, file_id TEXT NOT NULL, published_at TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS files_forms_code ON files_forms (code, version)",
)


class Catalog(Projection):
    name = "files.catalog"
    ddl = CATALOG_DDL

    async def handle(self, tx: Tx, event: Envelope) -> None:
        payload = event.parse()
        at = event.time.isoformat()
        if isinstance(payload, FileUploadedV1):
            entries = None if payload.archive_entries is None else json.dumps(payload.archive_entries)
            await tx.execute(
                "INSERT INTO files_files (file_id, owner_id, name, size, content_type, sha256, archive_entries,"
                " uploaded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (file_id) DO NOTHING",
                payload.file_id,
                payload.owner_id,
                payload.name,
                payload.size,
                payload.content_type,
                payload.sha256,
                entries,
                at,
            )
        elif isinstance(payload, FileDeletedV1):
            await tx.execute("DELETE FROM files_parties WHERE file_id = $1", payload.file_id)
            await tx.execute("DELETE FROM files_files WHERE file_id = $1", payload.file_id)
        elif isinstance(payload, FilePartiesGrantedV1):
            for account_id in payload.account_ids:
                await tx.execute(
                    "INSERT INTO files_parties (file_id, account_id, granted_at) VALUES ($1, $2, $3)"
                    " ON CONFLICT (file_id, account_id) DO NOTHING",
                    payload.file_id,
                    account_id,
                    at,
                )
        elif isinstance(payload, FormPublishedV1):
            await tx.execute(
                "INSERT INTO files_forms (form_id, code, title, kind, application_type_code, version, format,"
                " file_id, published_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                " ON CONFLICT (form_id) DO NOTHING",
                payload.form_id,
                payload.code,
                payload.title,
                payload.kind,
                payload.application_type_code,
                payload.version,
                payload.format,
                payload.file_id,
                at,
            )


# The facts of the grid-connection process that carry files.
ApplicationFacts = OfferPlacedV1 | NoticeReceivedV1 | CompanyDocumentPlacedV1 | TerminationRequestedV1


class AttachmentGrants(Projection):
    # Renamed from "files.grants" when attachments began to be recorded even without a new
    # party: the new name reads both topics again from the start, so the attachments made
    # before are recorded too (the command is idempotent: nothing is recorded twice).
    name = "files.attachments"

    def __init__(self, app: FilesApp) -> None:
        self.app = app

    @staticmethod
    def grant_of(event: Envelope) -> Grant | None:
        """What ``event`` shares: its files, who shares them, with whom, and why."""
        payload = event.parse()
        if isinstance(payload, ApplicationSubmittedV1 | DocumentsAddedV1 | ApplicationFacts):
            files = [d.file_id for d in payload.documents]
            # The applicant submits; documents are added by the applicant or by staff, the
            # process's files placed by staff (an offer, a company document) or the applicant
            # (a notice, a termination's statement): the one who acted shares their own files with the other side.
            by = payload.applicant_id if isinstance(payload, ApplicationSubmittedV1) else payload.actor_id
            applicant, reason = payload.applicant_id, f"application:{payload.application_id}"
        elif isinstance(payload, MessagePostedV1):
            files = list(payload.attachments)
            applicant, by, reason = payload.applicant_id, payload.author_id, f"chat:{payload.thread_id}"
        else:
            return None
        return Grant(files, [applicant], by, reason) if files else None

    async def handle(self, tx: Tx, event: Envelope) -> None:
        await self.handle_many(tx, [event])

    async def handle_many(self, tx: Tx, events: Sequence[Envelope]) -> None:
        """The batch's grants in one command (one trip to a worker thread, one save)."""
        grants = [g for g in map(self.grant_of, events) if g is not None]
        if not grants:
            return
        position = await command(self.app.grant_all, grants)
        if position:
            log.info("files.granted", grants=len(grants), position=position)
