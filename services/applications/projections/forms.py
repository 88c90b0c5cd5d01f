"""Which standard form of the library belongs to which application type (files.events), for
the catalog's «скачать форму»; the newest version of a form wins."""

from __future__ import annotations

from shared.consumer import Projection
from shared.events import Envelope, FormPublishedV1
from shared.readstore import Tx

FORMS_DDL = (
    "CREATE TABLE IF NOT EXISTS applications_forms (type_code TEXT PRIMARY KEY, form_id TEXT NOT NULL,"
    " title TEXT NOT NULL, version INTEGER NOT NULL)",
)


class FormsView(Projection):
    name = "applications.forms"
    ddl = FORMS_DDL
    # Every replica: each one's catalog re-reads its forms when this applies a batch (its
    # runner's on_applied); the rows are an upsert guarded by the version, so replicas agree.
    every_replica = True

    async def handle(self, tx: Tx, event: Envelope) -> None:
        payload = event.parse()
        if not isinstance(payload, FormPublishedV1) or payload.kind != "application":
            return
        if payload.application_type_code:
            await tx.execute(
                "INSERT INTO applications_forms (type_code, form_id, title, version) VALUES ($1, $2, $3, $4)"
                " ON CONFLICT (type_code) DO UPDATE SET form_id = excluded.form_id, title = excluded.title,"
                " version = excluded.version WHERE excluded.version >= applications_forms.version",
                payload.application_type_code,
                payload.form_id,
                payload.title,
                payload.version,
            )
