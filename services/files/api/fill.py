"""``POST /api/v1/forms/{form_id}/fill``: an application form filled in online, as DOCX."""

from __future__ import annotations

import structlog
from fastapi import APIRouter, Request, Response
from pydantic import ValidationError

from services.files import errors
from services.files.api.as_pdf import PDF_CONTENT, Format, pdf_response
from services.files.api.deps import State
from services.files.api.fill_in import FillIn, refused
from services.files.api.forms import form_row, stored_form
from services.files.content import DOCX
from services.files.forms import SPECS_BY_CODE, fill_docx
from services.files.storage import StorageUnavailable
from shared.content import content_disposition
from shared.http import IdPath, answers
from shared.runtime import blocking

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/api/v1")


@router.post(
    "/forms/{form_id}/fill",
    response_class=Response,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": FillIn.model_json_schema()}},
        },
        "responses": {
            "200": {
                "content": {DOCX: {}, **PDF_CONTENT},
                "description": "Заполненная заявка (DOCX или PDF)",
            }
        },
    },
    responses=answers(400, 404, 422, 503),
)
async def fill_form(form_id: IdPath, request: Request, files: State, format: Format = None) -> Response:
    """The application form filled in with the applicant's data (JSON: full_name, passport
    or ogrn, address, object_name, object_address, max_power_kw, voltage_kv,
    reliability_category, phone, email), as DOCX ready to sign (``format=pdf``: as PDF).
    No login; nothing stored."""
    try:
        body = FillIn.model_validate_json(await request.body())
    except ValidationError as exc:
        return refused(exc)
    row = await form_row(files, form_id)
    spec = SPECS_BY_CODE.get(row["code"])
    if spec is None or not spec.fillable or row["format"] != "docx":
        raise errors.not_fillable()
    spec.check_applicant(body.max_power_kw, body.identities)
    stored = await stored_form(files, row)
    try:
        template = await files.blobs.read_bytes(stored.blob_key)
    except (StorageUnavailable, KeyError):
        raise errors.storage_down() from None
    try:
        document, filled = await blocking(fill_docx, template, body.values())
    except Exception:
        log.exception("files.fill_failed", form_id=form_id)
        raise errors.not_fillable() from None
    if not filled:
        raise errors.not_fillable()
    if format == "pdf":
        return await pdf_response(document, f"{row['title']} (заполнена).docx", cache="no-store")
    return Response(
        document,
        media_type=DOCX,
        headers={
            "content-disposition": content_disposition(f"{row['title']} (заполнена).docx"),
            "x-content-type-options": "nosniff",
            "cache-control": "no-store",
        },
    )
