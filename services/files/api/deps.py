"""What the files routes share: the state, who is calling and from where, a readable file,
and one streamed upload at a time per slot."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import structlog
from fastapi import Depends, Request
from starlette.requests import ClientDisconnect

from services.files import errors
from services.files.content import unsupported
from services.files.domain import StoredFile
from services.files.state import FilesState
from services.files.storage import StorageUnavailable
from services.files.upload import Received, Refusal, receive_file
from services.files.values import Audit
from shared.auth import Principal, require_role
from shared.edge import client_address
from shared.runtime import blocking
from shared.service import state_of

log = structlog.get_logger(__name__)

State = Annotated[FilesState, Depends(state_of(FilesState))]
Staff = Annotated[Principal, Depends(require_role("staff"))]


def audit_of(request: Request, actor: str) -> Audit:
    """Who did it and from where: the address as the edge saw it (never a client's own header)."""
    return {
        "actor": actor,
        "ip": client_address(request),
        "user_agent": request.headers.get("user-agent", "")[:300],
    }


def file_key(file_id: str) -> uuid.UUID:
    """The id in a path; one of the wrong shape is simply not found."""
    try:
        return uuid.UUID(file_id)
    except ValueError:
        raise errors.file_not_found() from None


async def readable(files: FilesState, file_id: str, principal: Principal) -> StoredFile:
    """The file if the caller may read it; 404 otherwise (its existence is not revealed)."""
    stored = await blocking(files.app.file, file_key(file_id))
    if stored is None or not stored.can_read(principal.account_id, principal.has("staff")):
        raise errors.file_not_found()
    return stored


async def receive(
    request: Request, files: FilesState, allowed: set[str] | None = None, refusal: Refusal = unsupported
) -> Received | None:
    """The request's file, streamed into the blob store and checked (see ``upload.py``);
    None when the client went away mid-upload. Hold ``files.uploads`` around it."""
    limit = files.settings.max_upload_bytes
    try:
        return await receive_file(request, files.blobs, max_bytes=limit, allowed=allowed, unsupported=refusal)
    except ClientDisconnect:
        log.info("files.upload_interrupted", path=request.url.path)
        return None
    except StorageUnavailable:
        log.exception("files.storage_unavailable")
        raise errors.storage_down() from None


def multipart_body(*text_fields: str) -> dict[str, Any]:
    """The request body of an upload route, for the contract (the route parses it as a stream)."""
    properties: dict[str, Any] = {"file": {"type": "string", "format": "binary"}}
    properties.update({name: {"type": "string", "maxLength": 300} for name in text_fields})
    schema = {"type": "object", "required": ["file"], "properties": properties}
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}}
