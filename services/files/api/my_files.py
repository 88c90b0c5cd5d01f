"""«Мои файлы»: the caller's files listed, and an upload attached to nothing deleted."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Query, Request, Response

from services.files import queries
from services.files.api.deps import State, audit_of, file_key
from services.files.api.models import FilesPage, listed_file
from shared.auth import CurrentPrincipal
from shared.http import MAX_OFFSET, IdPath, answers
from shared.runtime import blocking

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/api/v1")


@router.get("/files", response_model=FilesPage, responses=answers(401, 422))
async def list_files(
    principal: CurrentPrincipal,
    files: State,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> FilesPage:
    """The caller's files and the files shared with them, newest first."""
    me = principal.account_id
    total, rows = await queries.files_of(files.store, me, limit, offset)
    forms = await queries.form_files(files.store)
    mine = [r["file_id"] for r in rows if r["owner_id"] == me and r["file_id"] not in forms]
    deletable = await blocking(files.app.deletable, mine, me)
    items = [listed_file(row, row["file_id"] in deletable) for row in rows]
    return FilesPage(items=items, total=total, limit=limit, offset=offset)


@router.delete("/files/{file_id}", status_code=204, response_class=Response, responses=answers(401, 404, 409))
async def delete_file(
    file_id: IdPath, request: Request, principal: CurrentPrincipal, files: State
) -> Response:
    """Delete one of your own uploads that is attached to no application or chat message
    (409 otherwise); anyone else's file is not found. Its bytes are removed after the event."""
    stored = await blocking(
        files.app.delete_file,
        file_key(file_id),
        principal.account_id,
        audit_of(request, principal.account_id),
        holds_form=await queries.holds_form(files.store, file_id),
    )
    await files.listed(stored)
    await files.remove_blob(stored)
    log.info("files.deleted", file_id=file_id)
    return Response(status_code=204)
