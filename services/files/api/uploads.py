"""``POST /api/v1/files``: one upload, streamed, checked by content, under an optional
idempotency key."""

from __future__ import annotations

import uuid

import structlog
from eventsourcing.persistence import IntegrityError
from fastapi import APIRouter, Request, Response

from services.files.api.deps import State, audit_of, multipart_body, receive
from services.files.api.models import FileOut, file_out
from services.files.domain import StoredFile
from shared import idempotency
from shared.auth import CurrentPrincipal, Principal
from shared.http import answers
from shared.runtime import blocking

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/api/v1")


def replayed_upload(stored: StoredFile, principal: Principal, response: Response) -> FileOut:
    """The answer to a repeated upload: the file stored the first time."""
    if stored.deleted or stored.owner_id != principal.account_id:
        raise idempotency.reused()
    response.headers[idempotency.REPLAYED] = "true"
    return file_out(stored, principal.account_id)


@router.post(
    "/files",
    status_code=201,
    response_model=FileOut,
    response_model_exclude_none=False,
    responses=answers(400, 401, 413, 415, 422, 503),
    openapi_extra={**multipart_body(), **idempotency.OPENAPI},
)
async def upload(
    request: Request, response: Response, principal: CurrentPrincipal, files: State
) -> Response | FileOut:
    """Upload one file (multipart/form-data, field ``file``): PDF, JPEG, PNG, TIFF, ZIP, DOCX,
    XLSX or ODT by content, up to the configured size (25 MB by default). With
    ``Idempotency-Key`` the file's id comes from the key: a repeat answers the file stored
    the first time (``Idempotent-Replayed: true``) and stores nothing."""
    key = idempotency.key_of(request)
    file_id = idempotency.derived_id("upload", principal.account_id, key) if key else uuid.uuid4()
    if key:
        earlier = await blocking(files.app.file, file_id)
        if earlier is not None:
            return replayed_upload(earlier, principal, response)
    async with files.uploads:
        received = await receive(request, files)
        if received is None:
            return Response(status_code=400)
        async with files.keeping(received.info.sha256):
            try:
                stored = await received.keep(
                    lambda blob: blocking(
                        files.app.record_upload,
                        blob,
                        owner_id=principal.account_id,
                        audit=audit_of(request, principal.account_id),
                        file_id=file_id,
                        staff=principal.has("staff"),
                    )
                )
            except IntegrityError:
                winner = await blocking(files.app.file, file_id) if key else None
                if winner is None:
                    raise
                return replayed_upload(winner, principal, response)  # a concurrent repeat won
            # The answer is final: the file is downloadable at once (read from the event
            # store), and the list shows it once the catalog has caught up with this event.
            await files.listed(stored)
    log.info("files.uploaded", file_id=str(stored.id), size=stored.size, kind=stored.kind)
    return file_out(stored, principal.account_id)
