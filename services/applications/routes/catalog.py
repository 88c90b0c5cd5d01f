"""The catalog of application types: read by anyone, edited by admins."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from services.applications.deps import Admin, State
from services.applications.schemas import TypeIn
from shared.errors import NotFound
from shared.http import CodePath, answers
from shared.runtime import blocking

router = APIRouter(prefix="/api/v1/application-types")


@router.get("", response_model=dict[str, Any])
async def list_types(state: State) -> Response:
    """The catalog of application types (no login needed)."""
    return Response(await state.catalog.page(), media_type="application/json")


@router.get("/{code}", responses=answers(404))
async def get_type(code: CodePath, state: State) -> dict[str, Any]:
    data = state.app.types.get(code)
    if data is None:
        raise NotFound("not_found", "Такого вида заявки нет в каталоге.")
    return await state.catalog.entry(data)


@router.put("/{code}", responses=answers(401, 403, 409, 422))
async def put_type(code: CodePath, body: TypeIn, state: State, principal: Admin) -> dict[str, Any]:
    """Create or edit a catalog entry (admins)."""
    data = await blocking(state.app.put_type, code, body.data(), principal.account_id)
    return await state.catalog.entry(data)
