"""The termination of the contract per application, a table of the process view
(process.py, applications.process): the latest request («Расторгнуть договор») and the
decision on it, for the application's page and the desk. A row per application, written only
by a newer event, so a redelivery changes nothing."""

from __future__ import annotations

import json
from typing import Any

from shared.events import Envelope
from shared.process_events import TerminationDecidedV1, TerminationRequestedV1
from shared.readstore import ReadStore, Tx

TERMINATIONS_DDL = (
    "CREATE TABLE IF NOT EXISTS applications_terminations (application_id TEXT PRIMARY KEY,"
    " requested_at TEXT NOT NULL, reason TEXT NOT NULL, refund_details TEXT NOT NULL,"
    " documents TEXT NOT NULL, decided_at TEXT, accepted BOOLEAN, comment TEXT, decided_by TEXT,"
    " version INTEGER NOT NULL)",
)


async def record_termination(
    tx: Tx, event: Envelope, payload: TerminationRequestedV1 | TerminationDecidedV1
) -> None:
    if isinstance(payload, TerminationRequestedV1):
        documents = json.dumps([d.model_dump() for d in payload.documents], ensure_ascii=False)
        await tx.execute(
            "INSERT INTO applications_terminations (application_id, requested_at, reason, refund_details,"
            " documents, version) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (application_id) DO UPDATE"
            " SET requested_at = $2, reason = $3, refund_details = $4, documents = $5, decided_at = NULL,"
            " accepted = NULL, comment = NULL, decided_by = NULL, version = $6"
            " WHERE applications_terminations.version < $6",
            payload.application_id,
            event.time.isoformat(),
            payload.reason,
            payload.refund_details,
            documents,
            event.sequence,
        )
    elif isinstance(payload, TerminationDecidedV1):
        await tx.execute(
            "UPDATE applications_terminations SET decided_at = $2, accepted = $3, comment = $4,"
            " decided_by = $5, version = $6 WHERE application_id = $1 AND version < $6",
            payload.application_id,
            event.time.isoformat(),
            payload.accepted,
            payload.comment,
            payload.actor_name,
            event.sequence,
        )


async def termination_of(store: ReadStore, application_id: str) -> dict[str, Any] | None:
    """The latest request and its decision, or None."""
    row = await store.fetchrow(
        "SELECT * FROM applications_terminations WHERE application_id = $1", application_id
    )
    if row is None:
        return None
    decided = row["decided_at"] is not None
    return {
        "requested_at": row["requested_at"],
        "reason": row["reason"],
        "refund_details": row["refund_details"],
        "documents": json.loads(row["documents"]),
        "status": ("accepted" if row["accepted"] else "refused") if decided else "pending",
        "decided_at": row["decided_at"],
        "comment": row["comment"],
    }
