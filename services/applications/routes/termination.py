"""«Расторгнуть договор» (issue 12): the applicant's statement on the termination of the
concluded contract and the staff's decision on it (termination.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from services.applications.deps import CurrentActor, State, parse_id
from services.applications.routes.process import ANSWERS, owned_documents, page_answer
from services.applications.schemas import TerminationDecisionIn, TerminationIn
from services.applications.termination import TERMINATION_STATEMENT
from shared.auth import CurrentPrincipal
from shared.http import IdPath
from shared.runtime import blocking

router = APIRouter(prefix="/api/v1/applications/{application_id}")


@router.post("/termination", responses=ANSWERS)
async def request_termination(
    application_id: IdPath,
    body: TerminationIn,
    state: State,
    principal: CurrentPrincipal,
    actor: CurrentActor,
) -> dict[str, Any]:
    """The applicant asks to terminate the contract: the reason, the refund's details, the
    signed statement (files, optional). A second request while one is open is refused
    (``termination_pending``), so a repeated post records nothing."""
    key = parse_id(application_id)
    documents, owned = await owned_documents(
        state, actor, TERMINATION_STATEMENT, list(dict.fromkeys(body.file_ids))
    )
    claim, _ = await blocking(
        state.app.act,
        key,
        actor,
        lambda c: c.request_termination(actor, body.reason, body.refund_details, documents, owned),
    )
    return await page_answer(state, application_id, principal, actor, claim)


@router.post("/termination/decision", responses=ANSWERS)
async def decide_termination(
    application_id: IdPath,
    body: TerminationDecisionIn,
    state: State,
    principal: CurrentPrincipal,
    actor: CurrentActor,
) -> dict[str, Any]:
    """Staff accept (the application is annulled) or refuse the open request, with the comment."""
    key = parse_id(application_id)
    claim, _ = await blocking(
        state.app.act,
        key,
        actor,
        lambda c: c.decide_termination(actor, body.decision == "accept", body.comment),
    )
    return await page_answer(state, application_id, principal, actor, claim)
