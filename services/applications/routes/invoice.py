"""The invoice of an application's offer as a DOCX document with the payment QR code
(ГОСТ Р 56042-2014; docs/payments.md): for the applicant and staff, 404 for anyone else and
(``no_invoice``) before the offer is placed."""

from __future__ import annotations

import anyio.to_thread
from fastapi import APIRouter, Response

from services.applications.deps import State, parse_id
from services.applications.invoice import MEDIA_TYPE, filename, invoice_docx, payee_of
from services.applications.queries import invoice_of
from shared.auth import CurrentPrincipal
from shared.content import content_disposition
from shared.http import IdPath, answers

router = APIRouter(prefix="/api/v1/applications/{application_id}")


@router.get(
    "/invoice",
    response_class=Response,
    responses={
        200: {"content": {MEDIA_TYPE: {}}, "description": "Счёт на оплату (DOCX)"},
        **answers(401, 404),
    },
)
async def download_invoice(application_id: IdPath, state: State, principal: CurrentPrincipal) -> Response:
    """«Счёт на оплату» of the offer: the amount, the payer, the due date, the QR code a bank
    app scans."""
    parse_id(application_id)
    invoice = await invoice_of(state, application_id, principal)
    payee = payee_of(state.app.settings)
    document = await anyio.to_thread.run_sync(invoice_docx, invoice, payee)
    return Response(
        document,
        media_type=MEDIA_TYPE,
        headers={"content-disposition": content_disposition(filename(invoice)), "cache-control": "no-store"},
    )
