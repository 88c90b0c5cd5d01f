"""The documents of each application, per checklist slot, and when each was added
(applications.events): one file may serve two slots (decision 14)."""

from __future__ import annotations

from shared.consumer import Projection
from shared.events import ApplicationSubmittedV1, DocumentsAddedV1, Envelope
from shared.readstore import Tx

# Keyed by slot too. It replaces applications_documents (keyed by file only), under a
# projection of its own, so a running deployment read applications.events again to fill it.
DOCUMENTS_DDL = (
    "CREATE TABLE IF NOT EXISTS applications_slots (application_id TEXT NOT NULL, slot TEXT NOT NULL,"
    " file_id TEXT NOT NULL, version INTEGER NOT NULL, added_at TEXT NOT NULL, added_by TEXT NOT NULL,"
    " PRIMARY KEY (application_id, slot, file_id))",
)


class DocumentsView(Projection):
    name = "applications.documents"
    ddl = DOCUMENTS_DDL

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
