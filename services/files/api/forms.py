"""«Типовые формы»: the library (no login needed), each version's file, and new versions
that staff publish."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from services.files import errors, queries
from services.files.api.as_pdf import PDF_ANSWER, Format, pdf_response
from services.files.api.deps import Staff, State, audit_of, multipart_body, receive
from services.files.api.downloads import blob_response
from services.files.api.models import FormOut, FormsOut, form_out, forms_out
from services.files.content import without_controls
from services.files.domain import FormSeries, StoredFile
from services.files.state import FilesState
from services.files.storage import StorageUnavailable
from services.files.values import Blob
from shared.http import CodePath, IdPath, answers
from shared.readstore import Row
from shared.runtime import blocking

router = APIRouter(prefix="/api/v1")
FORM_FORMATS = {"docx", "pdf", "odt", "xlsx"}


async def form_row(files: FilesState, form_id: str) -> Row:
    """The catalog's row of one form version; 404 for an unknown id."""
    try:
        uuid.UUID(form_id)
    except ValueError:
        raise errors.form_not_found() from None
    row = await queries.form(files.store, form_id)
    if row is None:
        raise errors.form_not_found()
    return row


async def stored_form(files: FilesState, row: Row) -> StoredFile:
    """The stored file of a form version."""
    stored = await blocking(files.app.file, uuid.UUID(row["file_id"]))
    if stored is None:  # the catalog only lists forms whose file is saved with them
        raise errors.form_not_found()
    return stored


@router.get("/forms", response_model=FormsOut, responses=answers(422))
async def list_forms(files: State, kind: str | None = None) -> FormsOut:
    """The standard forms, newest version of each («Типовые формы»); no login needed."""
    listed = forms_out(await queries.latest_forms(files.store))
    return FormsOut(items=[f for f in listed.items if kind is None or f.kind == kind])


@router.get("/forms/{code}/versions", response_model=FormsOut, responses=answers(404))
async def form_versions(code: CodePath, files: State) -> FormsOut:
    """Every published version of one form, newest first."""
    rows = await queries.versions(files.store, code)
    if not rows:
        raise errors.form_not_found()
    return forms_out(rows)


@router.get("/forms/{form_id}", response_model=FormOut, responses=answers(404))
async def form_meta(form_id: IdPath, files: State) -> FormOut:
    return form_out(await form_row(files, form_id))


@router.get(
    "/forms/{form_id}/file",
    response_class=StreamingResponse,
    responses={200: PDF_ANSWER, **answers(404, 422, 503)},
)
async def form_file(form_id: IdPath, request: Request, files: State, format: Format = None) -> Response:
    """Download one version of a standard form; no login needed. A version never changes.
    ``format=pdf``: a DOCX version as PDF (a PDF version as it is)."""
    stored = await stored_form(files, await form_row(files, form_id))
    cache = "public, max-age=86400, immutable"
    if format == "pdf" and stored.kind == "docx":
        return await pdf_response(await docx_of(files, stored), stored.name, cache=cache)
    if format == "pdf" and stored.kind != "pdf":
        raise errors.no_pdf()
    return await blob_response(files.blobs, stored, cache=cache, request=request)


async def docx_of(files: FilesState, stored: StoredFile) -> bytes:
    """The bytes of a stored DOCX (to convert); 503 while the store is down."""
    try:
        return await files.blobs.read_bytes(stored.blob_key)
    except (StorageUnavailable, KeyError):
        raise errors.storage_down() from None


@router.post(
    "/forms/{code}/versions",
    status_code=201,
    response_model=FormOut,
    responses=answers(400, 401, 403, 404, 409, 413, 415, 422, 503),
    openapi_extra=multipart_body("title"),
)
async def publish_version(
    code: CodePath, request: Request, principal: Staff, files: State
) -> Response | FormOut:
    """Staff publish a new version of a form (multipart ``file``: DOCX, PDF, ODT or XLSX;
    optional ``title``). Older versions stay downloadable by their id."""
    if await blocking(files.app.series, code) is None:
        raise errors.form_not_found()
    async with files.uploads:
        received = await receive(request, files, FORM_FORMATS, errors.unsupported_form)
        if received is None:
            return Response(status_code=400)
        title = without_controls(" ".join(received.fields.get("title", "").split())[:300])
        audit = audit_of(request, principal.account_id)

        async def publish(blob: Blob) -> tuple[StoredFile, FormSeries]:
            stored = StoredFile.of(blob, owner_id=principal.account_id, audit=audit, staff=True)
            return stored, await blocking(files.app.publish_new_version, code, stored, title, audit)

        async with files.keeping(received.info.sha256):
            stored, series = await received.keep(publish)
            await files.listed(stored, series)
    # The catalog may be behind (a timeout): then answer from the command's result.
    return form_out(await queries.form(files.store, series.latest["form_id"]) or series.latest)
