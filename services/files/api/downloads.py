"""A file the caller may read: its metadata and its bytes, streamed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import structlog
from fastapi import APIRouter, Response
from fastapi.responses import StreamingResponse

from services.files import errors, queries
from services.files.api.as_pdf import PDF_ANSWER, Format, pdf_response
from services.files.api.deps import State, readable
from services.files.api.models import FileOut, file_out
from services.files.domain import StoredFile
from services.files.storage import BlobStore, StorageUnavailable
from shared.auth import CurrentPrincipal
from shared.content import content_disposition
from shared.http import IdPath, answers

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/api/v1")


async def blob_response(
    blobs: BlobStore, stored: StoredFile, *, cache: str = "private, no-cache"
) -> StreamingResponse:
    """The file's bytes, streamed; the first chunk is read before answering, so a store
    that is down gives 503 rather than a broken download."""
    chunks = blobs.read(stored.blob_key)
    try:
        first = await anext(chunks, b"")
    except (StorageUnavailable, KeyError):
        log.exception("files.blob_unreadable", file_id=str(stored.id))
        await chunks.aclose()
        raise errors.storage_down() from None

    async def body() -> AsyncIterator[bytes]:
        try:
            if first:
                yield first
            async for chunk in chunks:
                yield chunk
        finally:
            await chunks.aclose()

    return StreamingResponse(
        body(),
        media_type=stored.content_type,
        headers={
            "content-length": str(stored.size),
            "content-disposition": content_disposition(stored.name),
            "x-content-type-options": "nosniff",
            "content-security-policy": "default-src 'none'; sandbox",
            "cache-control": cache,
            "etag": f'"{stored.sha256}"',
        },
    )


@router.get("/files/{file_id}/meta", response_model=FileOut, responses=answers(401, 404))
async def file_meta(file_id: IdPath, principal: CurrentPrincipal, files: State) -> FileOut:
    stored = await readable(files, file_id, principal)
    if await queries.holds_form(files.store, file_id):
        return file_out(stored)
    return file_out(stored, principal.account_id)


@router.get(
    "/files/{file_id}",
    response_class=StreamingResponse,
    responses={200: PDF_ANSWER, **answers(401, 404, 422, 503)},
)
async def download(
    file_id: IdPath, principal: CurrentPrincipal, files: State, format: Format = None
) -> Response:
    """The file itself, as an attachment under its original name. ``format=pdf``: a DOCX (a
    company document issued from a standard form, a filled-in form) as PDF."""
    stored = await readable(files, file_id, principal)
    if format == "pdf" and stored.kind == "docx":
        try:
            docx = await files.blobs.read_bytes(stored.blob_key)
        except (StorageUnavailable, KeyError):
            raise errors.storage_down() from None
        return await pdf_response(docx, stored.name, cache="private, no-cache")
    if format == "pdf" and stored.kind != "pdf":
        raise errors.no_pdf()
    return await blob_response(files.blobs, stored)
