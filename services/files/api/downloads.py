"""A file the caller may read: its metadata and its bytes, streamed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from services.files import errors, queries
from services.files.api.as_pdf import PDF_ANSWER, Format, pdf_response
from services.files.api.deps import State, readable
from services.files.api.models import FileOut, file_out
from services.files.domain import StoredFile
from services.files.storage import BlobStore, StorageUnavailable
from shared.auth import CurrentPrincipal
from shared.content import content_disposition
from shared.edge import ACCEL_S3, through_accel
from shared.http import IdPath, answers

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/api/v1")


def file_headers(stored: StoredFile, cache: str) -> dict[str, str]:
    return {
        "content-length": str(stored.size),
        "content-disposition": content_disposition(stored.name),
        "x-content-type-options": "nosniff",
        "content-security-policy": "default-src 'none'; sandbox",
        "cache-control": cache,
        "etag": f'"{stored.sha256}"',
    }


async def accel_response(blobs: BlobStore, stored: StoredFile, cache: str) -> Response | None:
    """On the real stack behind nginx: an empty answer whose ``X-Accel-Redirect`` sends nginx
    to the S3 server with a presigned URL, so the bytes never pass through this process.
    None when the store has no such URL (the local folder)."""
    try:
        url = await blobs.direct_url(stored.blob_key)
    except Exception:
        log.exception("files.presign_failed", file_id=str(stored.id))
        raise errors.storage_down() from None
    if url is None:
        return None
    parts = urlsplit(url)
    headers = {
        **file_headers(stored, cache),
        "x-accel-redirect": f"{ACCEL_S3}{stored.sha256}{parts.path}?{parts.query}",
    }
    del headers["content-length"]  # nginx sends the S3 server's
    return Response(status_code=200, media_type=stored.content_type, headers=headers)


async def blob_response(
    blobs: BlobStore,
    stored: StoredFile,
    *,
    cache: str = "private, no-cache",
    request: Request | None = None,
) -> Response:
    """The file's bytes: through nginx (when ``request`` came from it) by an internal redirect
    to the S3 server; otherwise streamed from here, the first chunk read before answering,
    so a store that is down gives 503 rather than a broken download."""
    if request is not None and through_accel(request):
        accel = await accel_response(blobs, stored, cache)
        if accel is not None:
            return accel
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

    return StreamingResponse(body(), media_type=stored.content_type, headers=file_headers(stored, cache))


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
    file_id: IdPath, request: Request, principal: CurrentPrincipal, files: State, format: Format = None
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
    return await blob_response(files.blobs, stored, request=request)
