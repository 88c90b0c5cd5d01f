"""Payments that arrive in bulk: ``POST /api/v1/payments/import``, a bank statement as CSV
(staff only), answered with a report per line (the payment port, docs/payments.md)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from services.applications.app import today
from services.applications.deps import CurrentActor, State
from services.applications.payments import Ledger, import_statement
from services.applications.payments.statement import MAX_BYTES
from services.applications.workflow import STAFF
from shared.auth import Principal, require_role
from shared.errors import TooLarge, Unsupported
from shared.http import answers

router = APIRouter(prefix="/api/v1/payments")
IMPORT_PATH = "/api/v1/payments/import"
Staff = Annotated[Principal, Depends(require_role(STAFF))]
TYPES = ("text/csv", "text/plain", "application/csv", "application/vnd.ms-excel", "application/octet-stream")
LIMIT = MAX_BYTES  # the route's body limit (main.py), over the usual request limit
BODY = {
    "requestBody": {
        "required": True,
        "description": "Выписка банка в CSV (UTF-8 или windows-1251), до 2 МБ",
        "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.post("/import", responses=answers(401, 403, 413, 415, 422), openapi_extra=BODY)
async def import_payments(request: Request, state: State, actor: CurrentActor, _: Staff) -> dict[str, Any]:
    """Import a bank statement: each line matched by the application number in its purpose
    (``ТП-2026-000123``) is recorded as a payment; the same line again is a duplicate. The
    answer: ``{lines, recorded, duplicates, unmatched: [{line, purpose}], refused: [{line,
    code, message}]}``; a file that is not a statement is refused whole, recording nothing."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in TYPES:
        raise Unsupported("statement_type", "Выписка принимается как файл CSV (text/csv).")
    data = bytearray()
    async for chunk in request.stream():
        data.extend(chunk)
        if len(data) > LIMIT:
            raise TooLarge("statement_too_large", "Файл выписки больше 2 МБ: разделите его на части.")
    ledger = Ledger(state.app, state.store)
    report = await import_statement(ledger, actor, bytes(data), today())
    # Read-your-writes, as after every command: the pages show the payments once answered.
    await asyncio.gather(*(state.caught_up(str(k), v) for k, v in ledger.touched.items()))
    return report.as_json()
