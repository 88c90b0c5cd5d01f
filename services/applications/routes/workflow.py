"""An application's workflow: status transitions and the documents staff asked for."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from services.applications.answers import as_committed
from services.applications.deps import CurrentActor, State, parse_id
from services.applications.queries import detail
from services.applications.schemas import DocumentsIn, TransitionIn
from shared.auth import CurrentPrincipal
from shared.http import IdPath, answers
from shared.runtime import command

router = APIRouter(prefix="/api/v1/applications/{application_id}")


@router.post("/transitions", responses=answers(401, 403, 404, 409, 422))
async def transition(
    application_id: IdPath, body: TransitionIn, state: State, principal: CurrentPrincipal, actor: CurrentActor
) -> dict[str, Any]:
    """Staff move the status one step, request documents or annul; the applicant may withdraw."""
    key = parse_id(application_id)
    claim, _ = await command(
        state.app.transition, key, actor, body.to_status, body.comment, body.expected_version
    )
    if await state.caught_up(application_id, claim.version):
        return await detail(state, application_id, principal)
    return as_committed(await detail(state, application_id, principal), claim, actor.role)


@router.post("/documents", responses=answers(401, 403, 404, 409, 422))
async def add_documents(
    application_id: IdPath, body: DocumentsIn, state: State, principal: CurrentPrincipal, actor: CurrentActor
) -> dict[str, Any]:
    """The applicant adds the documents staff asked for (status «Требуются документы»); the
    application returns to «В работе» at once, its term counted from this upload."""
    key = parse_id(application_id)
    documents, owned = await state.documents(actor.account_id, [d.model_dump() for d in body.documents])
    claim, _ = await command(state.app.add_documents, key, actor, documents, owned)
    await state.caught_up(application_id, claim.version)
    return await detail(state, application_id, principal)
