"""The invoice of an application's offer as a DOCX document with the payment QR code
(ГОСТ Р 56042-2014; docs/payments.md): for the applicant and staff, 404 for anyone else and
(``no_invoice``) before the offer is placed."""

from __future__ import annotations

from pathlib import PurePath
from typing import Annotated, Literal

import anyio.to_thread
from fastapi import APIRouter, Query, Response

from services.applications.deps import State, parse_id
from services.applications.invoice import MEDIA_TYPE, filename, invoice_docx, payee_of
from services.applications.queries import invoice_of
from shared.auth import CurrentPrincipal
from shared.content import content_disposition
from shared.http import IdPath, answers
from shared.pdf import PDF_TYPE, render_pdf

router = APIRouter(prefix="/api/v1/applications/{application_id}")


@router.get(
    "/invoice",
    response_class=Response,
    responses={
        200: {
            "content": {MEDIA_TYPE: {}, PDF_TYPE: {}},
            "description": "Счёт на оплату (DOCX; PDF при format=pdf)",
        },
        **answers(401, 404, 422, 503),
    },
)
async def download_invoice(
    application_id: IdPath,
    state: State,
    principal: CurrentPrincipal,
    format: Annotated[Literal["docx", "pdf"] | None, Query(description="pdf — счёт в формате PDF")] = None,
) -> Response:
    """«Счёт на оплату» of the offer: the amount, the payer, the due date, the QR code a bank
    app scans. ``format=pdf``: the same document as PDF (LibreOffice; 503 without it)."""
    parse_id(application_id)
    invoice = await invoice_of(state, application_id, principal)
    payee = payee_of(state.app.settings)
    document = await anyio.to_thread.run_sync(invoice_docx, invoice, payee)
    name, media = filename(invoice), MEDIA_TYPE
    if format == "pdf":
        document, media = await render_pdf(document), PDF_TYPE
        name = f"{PurePath(name).stem}.pdf"
    return Response(
        document,
        media_type=media,
        headers={"content-disposition": content_disposition(name), "cache-control": "no-store"},
    )
