"""The facts of the grid-connection process per application (applications.events): the dated
milestones the Rules make a grid company disclose, the company's documents, the offer with its
invoice, payments, refusal and conclusion. Rebuildable from the topic's beginning: the
milestones of the applications filed before the process facts existed come from their
submission and status changes."""

from __future__ import annotations

import uuid

from services.applications.projections.terminations import TERMINATIONS_DDL, record_termination
from shared.consumer import Projection
from shared.events import ApplicationSubmittedV1, DocumentsAddedV1, Envelope, StatusChangedV1
from shared.process_events import (
    CompanyDocumentPlacedV1,
    ConnectionRecordedV1,
    ContractConcludedV1,
    NoticeReceivedV1,
    OfferPlacedV1,
    OfferRefusedV1,
    PaymentRecordedV1,
    TerminationDecidedV1,
    TerminationRequestedV1,
)
from shared.readstore import Tx

CLOSING = ("closing_notice", "act_tp")
_NS = uuid.UUID("0b7e1f52-7f0e-4d8e-a3a4-52c1f4d3e6a9")

PROCESS_DDL = (
    "CREATE TABLE IF NOT EXISTS applications_milestones (application_id TEXT NOT NULL, version INTEGER NOT NULL,"
    " code TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (application_id, version, code))",
    "CREATE TABLE IF NOT EXISTS applications_company_documents (document_id TEXT PRIMARY KEY,"
    " application_id TEXT NOT NULL, kind TEXT NOT NULL, file_id TEXT NOT NULL, name TEXT NOT NULL,"
    " placed_at TEXT NOT NULL, signed_at TEXT, version INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS applications_company_documents_of"
    " ON applications_company_documents (application_id, version)",
    "CREATE TABLE IF NOT EXISTS applications_offers (application_id TEXT PRIMARY KEY, version INTEGER NOT NULL,"
    " amount_kopecks BIGINT NOT NULL, invoice_due TEXT, needs_signature BOOLEAN NOT NULL, term_months INTEGER,"
    " term_working_days INTEGER, paid_kopecks BIGINT NOT NULL, paid_at TEXT, refusal TEXT, refused_at TEXT,"
    " concluded_on TEXT, concluded_by TEXT)",
    "CREATE TABLE IF NOT EXISTS applications_payments (application_id TEXT NOT NULL, reference TEXT NOT NULL,"
    " amount_kopecks BIGINT NOT NULL, paid_at TEXT NOT NULL, version INTEGER NOT NULL,"
    " PRIMARY KEY (application_id, reference))",
    # Terms of the offer added after applications_offers existed (a table of their own, so a
    # store made before gets it by the same idempotent DDL); no row: an offer without them.
    "CREATE TABLE IF NOT EXISTS applications_offer_terms (application_id TEXT PRIMARY KEY,"
    " state_buyer BOOLEAN NOT NULL)",
    # The simple electronic signatures (ПЭП) of the contracts: which file, its hash, when, from where.
    "CREATE TABLE IF NOT EXISTS applications_signatures (application_id TEXT NOT NULL, challenge_id TEXT NOT NULL,"
    " file_id TEXT NOT NULL, document_sha256 TEXT NOT NULL, signed_at TEXT NOT NULL, client_address TEXT NOT NULL,"
    " version INTEGER NOT NULL, PRIMARY KEY (application_id, challenge_id))",
    *TERMINATIONS_DDL,
)


def offer_document_id(application_id: str, version: int, kind: str) -> str:
    """The id of a document placed with the offer (stable on a replay)."""
    return str(uuid.uuid5(_NS, f"{application_id}/{version}/{kind}"))


def _from_status(payload: StatusChangedV1) -> str | None:
    """The milestone a plain status change records, if any."""
    if payload.to_status == "in_work" and payload.from_status in ("submitted", "needs_documents"):
        return "complete"
    if payload.to_status == "needs_documents":
        return "documents_requested"
    if payload.from_status == "tu_check" and payload.to_status == "acts":
        return "tu_checked"
    return None


class ProcessView(Projection):
    name = "applications.process"
    ddl = PROCESS_DDL

    async def handle(self, tx: Tx, event: Envelope) -> None:
        payload = event.parse()
        at = event.time.isoformat()
        marks: list[tuple[str, str]] = []  # (milestone, at)
        if isinstance(payload, ApplicationSubmittedV1):
            marks.append(("received", at))
        elif isinstance(payload, StatusChangedV1):
            code = _from_status(payload)
            if code == "tu_checked" and await _connected_just_before(tx, event):
                code = None  # the connection's record has it already
            marks += [(code, at)] if code else []
        elif isinstance(payload, DocumentsAddedV1):
            marks.append(("documents_received", at))
        elif isinstance(payload, OfferPlacedV1):
            await self._offer(tx, event, payload)
            marks.append(("offer_placed", at))
        elif isinstance(payload, PaymentRecordedV1):
            await self._payment(tx, event, payload)
        elif isinstance(payload, OfferRefusedV1):
            await tx.execute(
                "UPDATE applications_offers SET refusal = $2, refused_at = $3 WHERE application_id = $1",
                payload.application_id,
                payload.comment,
                at,
            )
        elif isinstance(payload, ContractConcludedV1):
            await self._concluded(tx, event, payload)
            marks.append(("contract_concluded", payload.concluded_on))
        elif isinstance(payload, NoticeReceivedV1):
            marks.append(("tu_notice_received", at))
        elif isinstance(payload, ConnectionRecordedV1):
            # The check passed with the connection; a plain move to «Подготовка актов ТП» marks it alone.
            marks += [
                ("tu_checked", at),
                ("connected", payload.connected_at),
                ("voltage_applied", payload.voltage_applied_at),
            ]
        elif isinstance(payload, CompanyDocumentPlacedV1):
            await _document(
                tx,
                event,
                payload.document_id,
                payload.kind,
                payload.documents[0].file_id,
                payload.documents[0].name,
            )
            marks += [("closing_documents_placed", at)] if payload.kind in CLOSING else []
        elif isinstance(payload, TerminationRequestedV1 | TerminationDecidedV1):
            await record_termination(tx, event, payload)
        await tx.executemany(
            "INSERT INTO applications_milestones (application_id, version, code, at) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (application_id, version, code) DO NOTHING",
            [(event.subject, event.sequence, code, when) for code, when in marks],
        )

    @staticmethod
    async def _offer(tx: Tx, event: Envelope, payload: OfferPlacedV1) -> None:
        # A new offer (after a refusal) replaces the terms; the payments made stay.
        await tx.execute(
            "INSERT INTO applications_offers (application_id, version, amount_kopecks, invoice_due, needs_signature,"
            " term_months, term_working_days, paid_kopecks) VALUES ($1, $2, $3, $4, $5, $6, $7, 0)"
            " ON CONFLICT (application_id) DO UPDATE SET version = excluded.version,"
            " amount_kopecks = excluded.amount_kopecks, invoice_due = excluded.invoice_due,"
            " needs_signature = excluded.needs_signature, term_months = excluded.term_months,"
            " term_working_days = excluded.term_working_days, refusal = NULL, refused_at = NULL",
            payload.application_id,
            event.sequence,
            payload.amount_kopecks,
            payload.invoice_due,
            payload.needs_signature,
            payload.activities_months,
            payload.activities_working_days,
        )
        await tx.execute(
            "INSERT INTO applications_offer_terms (application_id, state_buyer) VALUES ($1, $2)"
            " ON CONFLICT (application_id) DO UPDATE SET state_buyer = excluded.state_buyer",
            payload.application_id,
            payload.state_buyer,
        )
        for doc in payload.documents:
            document_id = offer_document_id(payload.application_id, event.sequence, doc.slot)
            await _document(tx, event, document_id, doc.slot, doc.file_id, doc.name)

    @staticmethod
    async def _payment(tx: Tx, event: Envelope, payload: PaymentRecordedV1) -> None:
        await tx.execute(
            "INSERT INTO applications_payments (application_id, reference, amount_kopecks, paid_at, version)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (application_id, reference) DO NOTHING",
            payload.application_id,
            payload.reference,
            payload.amount_kopecks,
            payload.paid_at,
            event.sequence,
        )
        await tx.execute(
            "UPDATE applications_offers SET paid_kopecks = $2, paid_at = CASE WHEN paid_at IS NULL"
            " OR paid_at < $3 THEN $3 ELSE paid_at END WHERE application_id = $1",
            payload.application_id,
            payload.paid_kopecks,
            payload.paid_at,
        )

    @staticmethod
    async def _concluded(tx: Tx, event: Envelope, payload: ContractConcludedV1) -> None:
        await tx.execute(
            "UPDATE applications_offers SET concluded_on = $2, concluded_by = $3 WHERE application_id = $1",
            payload.application_id,
            payload.concluded_on,
            payload.by,
        )
        if payload.signature is not None:
            await _signed(tx, event, payload)
        elif payload.by == "signature":
            await tx.execute(
                "UPDATE applications_company_documents SET signed_at = $2 WHERE application_id = $1"
                " AND kind = 'offer_contract' AND signed_at IS NULL",
                payload.application_id,
                event.time.isoformat(),
            )


async def _signed(tx: Tx, event: Envelope, payload: ContractConcludedV1) -> None:
    """The signed contract (its file) gets the signature: when, the document's hash."""
    signature = payload.signature
    assert signature is not None
    signed_at = signature.signed_at.isoformat()
    await tx.execute(
        "INSERT INTO applications_signatures (application_id, challenge_id, file_id, document_sha256,"
        " signed_at, client_address, version) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " ON CONFLICT (application_id, challenge_id) DO NOTHING",
        payload.application_id,
        signature.challenge_id,
        signature.file_id,
        signature.document_sha256,
        signed_at,
        signature.client_address,
        event.sequence,
    )
    await tx.execute(
        "UPDATE applications_company_documents SET signed_at = $3 WHERE application_id = $1"
        " AND kind = 'offer_contract' AND file_id = $2 AND signed_at IS NULL",
        payload.application_id,
        signature.file_id,
        signed_at,
    )


async def _connected_just_before(tx: Tx, event: Envelope) -> bool:
    found = await tx.fetchval(
        "SELECT COUNT(*) FROM applications_milestones WHERE application_id = $1 AND version = $2"
        " AND code = 'connected'",
        event.subject,
        event.sequence - 1,
    )
    return bool(found)


async def _document(tx: Tx, event: Envelope, document_id: str, kind: str, file_id: str, name: str) -> None:
    await tx.execute(
        "INSERT INTO applications_company_documents (document_id, application_id, kind, file_id, name,"
        " placed_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (document_id) DO NOTHING",
        document_id,
        event.subject,
        kind,
        file_id,
        name,
        event.time.isoformat(),
        event.sequence,
    )
