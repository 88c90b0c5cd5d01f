"""Applications: filing one, the lists and the queue, one application's page."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from eventsourcing.persistence import IntegrityError
from fastapi import APIRouter, Query, Request, Response

from services.applications.actor import Actor
from services.applications.deps import CurrentActor, State, parse_id
from services.applications.domain import Application
from services.applications.filed import filed_request
from services.applications.queries import Filters, detail, listing
from services.applications.queue import ASSIGNEE, OVERDUE, WAITING, Duty, overdue_filter
from services.applications.rules import Submission, check_applicant
from services.applications.schemas import SubmitIn
from services.applications.state import ApplicationsState
from shared import idempotency
from shared.auth import CurrentPrincipal
from shared.http import MAX_OFFSET, IdPath, answers
from shared.runtime import blocking, command

router = APIRouter(prefix="/api/v1/applications")


@router.post(
    "", status_code=201, responses=answers(400, 401, 403, 409, 422), openapi_extra=idempotency.OPENAPI
)
async def submit(
    body: SubmitIn, request: Request, response: Response, state: State, actor: CurrentActor
) -> dict[str, Any]:
    """«Отправить заявку на ТП»: a confirmed consumer files an application with documents.
    With ``Idempotency-Key`` a repeat answers the application filed the first time
    (``Idempotent-Replayed: true``); the same key for another request is refused (422)."""
    check_applicant(actor)
    keyed = idempotency.keyed(request, "application", actor.account_id, body.model_dump(mode="json"))
    earlier = await command(state.app.submitted_before, keyed) if keyed else None  # no key: no hop
    if earlier is not None:
        response.headers[idempotency.REPLAYED] = "true"
        claim = earlier
    else:
        claim = await _file(state, actor, body, keyed, response)
    return {"id": str(claim.id), "number": claim.number, "status": claim.status}


async def _file(
    state: ApplicationsState,
    actor: Actor,
    body: SubmitIn,
    keyed: idempotency.Keyed | None,
    response: Response,
) -> Application:
    documents, owned = await state.documents(actor.account_id, [d.model_dump() for d in body.documents])
    form = Submission(
        type_code=body.type_code,
        power_kw=body.power_kw,
        documents=documents,
        owned=owned,
        object_address=body.object_address.strip(),
        contact_phone=body.contact.phone,
        contact_email=str(body.contact.email),
        comment=body.comment,
        request=body.structured(),
    )
    # Every rule first: a refused submission takes no number (the series has no gaps from it).
    state.app.check_submission(actor, form)
    try:
        claim, _ = await command(state.app.submit, actor, await state.numbers.next(), form, keyed)
    except IntegrityError:
        winner = await command(state.app.submitted_before, keyed)
        if winner is None:
            raise
        claim = winner  # an identical request a moment earlier won (its number stands)
        response.headers[idempotency.REPLAYED] = "true"
    await state.caught_up(str(claim.id), claim.version)
    return claim


@router.get("", responses=answers(401, 403, 422))
async def list_applications(
    state: State,
    principal: CurrentPrincipal,
    status: Annotated[str | None, Query(max_length=32)] = None,
    type: Annotated[str | None, Query(max_length=64)] = None,
    overdue: Annotated[str | None, Query(max_length=16, description=OVERDUE)] = None,
    q: Annotated[str, Query(max_length=100)] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    waiting: Annotated[Duty | None, Query(description=WAITING)] = None,
    assignee: Annotated[Literal["me", "none"] | None, Query(description=ASSIGNEE)] = None,
) -> dict[str, Any]:
    """«Заявки на услуги» for a consumer (own only); the queue for staff, overdue first, with
    the assignee of each («Исполнитель»)."""
    late, overdue_by = overdue_filter(overdue)
    whose = {"me": principal.account_id, "none": ""}.get(assignee or "")
    filters = Filters(status, type, late, q, overdue_by, waiting, whose)
    return await listing(state, principal, filters, limit, offset)


@router.get("/{application_id}", responses=answers(401, 404))
async def get_application(
    application_id: IdPath, state: State, principal: CurrentPrincipal
) -> dict[str, Any]:
    """The application's page; ``request``: the structured fields as filed (None before issue
    13), ``activity_term``: the catalog's rule of the activities' term that applies."""
    found = parse_id(application_id)
    body = await detail(state, application_id, principal)  # 404 to anyone it is not for
    return {**body, **await blocking(filed_request, state.app, found)}
