"""The application form generated from the submitted application (issue 13): DOCX, or PDF by
LibreOffice (shared/pdf.py). The applicant and staff; anyone else gets 404."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from services.applications import application_form
from services.applications.app import ApplicationsApp
from services.applications.deps import CurrentActor, State, parse_id
from services.applications.domain import Application
from services.applications.filed import filed_form
from shared.content import content_disposition
from shared.docx import MEDIA_TYPE
from shared.http import IdPath, answers
from shared.pdf import PDF_TYPE, render_pdf
from shared.runtime import blocking, command

router = APIRouter(prefix="/api/v1/applications")
Format = Literal["docx", "pdf"]


def _docx(app: ApplicationsApp, claim: Application) -> bytes:
    return application_form.build(filed_form(app, claim))


@router.get(
    "/{application_id}/form",
    response_class=Response,
    responses={
        **answers(401, 404, 422, 503),
        200: {"content": {MEDIA_TYPE: {}, PDF_TYPE: {}}, "description": "Заявка (DOCX или PDF)"},
    },
)
async def get_form(
    application_id: IdPath,
    state: State,
    actor: CurrentActor,
    kind: Annotated[Format, Query(alias="format", description="docx (по умолчанию) или pdf")] = "docx",
) -> Response:
    """«Заявка на ТП» filled in from the submitted application (п. 9 / 12(1) / 14 of the
    Rules): signed on paper and attached only where the type still wants it."""
    claim = await command(state.app.load, parse_id(application_id), actor)
    content = await blocking(_docx, state.app, claim)
    media = MEDIA_TYPE
    if kind == "pdf":
        content, media = await render_pdf(content), PDF_TYPE
    name = f"Заявка {claim.number}.{kind}"
    return Response(
        content=content,
        media_type=media,
        headers={"content-disposition": content_disposition(name), "cache-control": "no-store"},
    )
