"""«Взять в работу»: the assignee of an application (staff only). To a consumer the resource
does not exist (404), their own application included: who handles whose application is the
grid company's business."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from services.applications.actor import Actor
from services.applications.answers import as_committed
from services.applications.app import changed_meanwhile, not_found
from services.applications.deps import CurrentActor, State, parse_id
from services.applications.domain import Application
from services.applications.queries import detail
from services.applications.schemas import TakeIn
from shared.auth import CurrentPrincipal
from shared.http import IdPath, answers
from shared.runtime import blocking, command

router = APIRouter(prefix="/api/v1/applications/{application_id}")


def _staff(actor: Actor) -> None:
    if not actor.staff:
        raise not_found()


def _held(claim: Application) -> dict[str, Any]:
    return {"id": claim.assignee_id, "name": claim.assignee_name} if claim.assignee_id else {}


@router.get("/assignment", responses=answers(401, 404))
async def assignment(application_id: IdPath, state: State, actor: CurrentActor) -> dict[str, Any]:
    """Who holds the application: ``assignee`` {id, name} or null, and ``mine``."""
    _staff(actor)
    claim = await command(state.app.load, parse_id(application_id), actor)
    return {"assignee": _held(claim) or None, "mine": claim.assignee_id == actor.account_id}


@router.post("/assignment", responses=answers(401, 404, 409, 422))
async def take(
    application_id: IdPath,
    state: State,
    principal: CurrentPrincipal,
    actor: CurrentActor,
    body: TakeIn | None = None,
) -> dict[str, Any]:
    """«Взять в работу»: the caller (staff) becomes the assignee. Taking what one already
    holds records nothing. ``expected_version``: the version the caller saw (a colleague who
    took it meanwhile is not overridden unseen)."""
    _staff(actor)
    key = parse_id(application_id)
    expected = body.expected_version if body else None
    taken: list[bool] = []

    def step(claim: Application) -> None:
        if expected is not None and expected != claim.version and claim.assignee_id != actor.account_id:
            raise changed_meanwhile()
        taken.append(claim.take(actor))

    claim, _ = await blocking(state.app.act, key, actor, step)
    if await state.caught_up(application_id, claim.version):
        answer = await detail(state, application_id, principal)
    else:
        answer = as_committed(await detail(state, application_id, principal), claim, actor.role)
    return {**answer, "assignee": _held(claim), "taken": taken == [True]}
