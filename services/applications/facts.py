"""How the API shows the process's facts of one application (the applications.process view):
the milestones as a dated timeline, the company's documents, the offer and its invoice."""

from __future__ import annotations

from typing import Any

from services.applications.projections.terminations import termination_of
from services.applications.steps import KINDS
from shared import format as fmt
from shared.readstore import ReadStore, Row

MILESTONES: dict[str, str] = {
    "received": "Заявка получена и зарегистрирована",
    "complete": "Заявка принята: сведения и документы полные",
    "documents_requested": "Запрошены недостающие документы",
    "documents_received": "Недостающие документы получены",
    "offer_placed": "Направлены договор (оферта), технические условия и счёт",
    "contract_concluded": "Договор ТП заключён",
    "tu_notice_received": "Получено уведомление о выполнении ТУ",
    "tu_checked": "Выполнение ТУ проверено",
    "connected": "Фактическое присоединение",
    "voltage_applied": "Фактическая подача напряжения",
    "closing_documents_placed": "Размещены закрывающие документы",
}


def signature_text(signed_at: str, sha256: str) -> str:
    """How a signed contract reads on the page: «Подписано … ПЭП 02.12.2026 10:15 (МСК), SHA-256 …»."""
    return f"Подписано ПЭП (простой электронной подписью) {fmt.when(signed_at)}, SHA-256 {sha256}"


async def signatures(store: ReadStore, application_id: str) -> dict[str, str]:
    """The signature's text of each signed contract file (the latest signature of a file)."""
    rows = await store.fetch(
        "SELECT file_id, document_sha256, signed_at FROM applications_signatures WHERE application_id = $1"
        " ORDER BY version",
        application_id,
    )
    return {r["file_id"]: signature_text(r["signed_at"], r["document_sha256"]) for r in rows}


def rubles(kopecks: int | None) -> float | None:
    return None if kopecks is None else int(kopecks) / 100


def _offer(row: Row | None, payments: list[Row]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    if row is None:
        return None, None
    invoice = {
        "amount_rub": rubles(row["amount_kopecks"]),
        "due": row["invoice_due"],
        "paid_rub": rubles(row["paid_kopecks"]),
        "paid_at": row["paid_at"],
        "payments": [
            {"amount_rub": rubles(p["amount_kopecks"]), "paid_at": p["paid_at"], "reference": p["reference"]}
            for p in payments
        ],
    }
    term = (
        {"months": row["term_months"]}
        if row["term_months"] is not None
        else {"working_days": row["term_working_days"]}
    )
    offer = {
        "needs_signature": bool(row["needs_signature"]),
        "state_buyer": bool(row["state_buyer"]),
        "activities_term": term,
        "concluded_on": row["concluded_on"],
        "concluded_by": row["concluded_by"],
        "refusal": {"comment": row["refusal"], "at": row["refused_at"]} if row["refusal"] else None,
    }
    return invoice, offer


async def process_facts(store: ReadStore, application_id: str) -> dict[str, Any]:
    """``milestones``, ``company_documents``, ``invoice`` (null before the offer), ``offer``."""
    marks = await store.fetch(
        "SELECT version, code, at FROM applications_milestones WHERE application_id = $1", application_id
    )
    order = list(MILESTONES)  # facts of one event in the order the process records them
    marks.sort(key=lambda m: (int(m["version"]), order.index(m["code"])))
    documents = await store.fetch(
        "SELECT document_id, kind, file_id, name, placed_at, signed_at FROM applications_company_documents"
        " WHERE application_id = $1 ORDER BY version, kind",
        application_id,
    )
    row = await store.fetchrow(
        "SELECT o.*, t.state_buyer FROM applications_offers o LEFT JOIN applications_offer_terms t"
        " ON t.application_id = o.application_id WHERE o.application_id = $1",
        application_id,
    )
    payments = await store.fetch(
        "SELECT reference, amount_kopecks, paid_at FROM applications_payments WHERE application_id = $1"
        " ORDER BY version",
        application_id,
    )
    invoice, offer = _offer(row, payments)
    signed = await signatures(store, application_id)
    return {
        "milestones": [{"code": m["code"], "title": MILESTONES[m["code"]], "at": m["at"]} for m in marks],
        "company_documents": [
            {
                "id": d["document_id"],
                "kind": d["kind"],
                "title": KINDS[d["kind"]],
                "file_id": d["file_id"],
                "name": d["name"],
                "placed_at": d["placed_at"],
                "signed_at": d["signed_at"],
                "signature": signed.get(d["file_id"]) if d["kind"] == "offer_contract" else None,
            }
            for d in documents
        ],
        "invoice": invoice,
        "offer": offer,
        "termination": await termination_of(store, application_id),
    }
