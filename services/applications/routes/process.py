"""The facts of the grid-connection process that move an application (issue 12): the offer,
payments, the applicant's acceptance and notice, the connection, the company's documents.
Each answers the application's page once the views have the new facts."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response

from services.applications.actor import Actor
from services.applications.answers import as_committed
from services.applications.app import today
from services.applications.deps import CurrentActor, State, parse_id
from services.applications.domain import Application
from services.applications.payments import API, Ledger, Payment
from services.applications.queries import detail
from services.applications.schemas import (
    AcceptanceIn,
    CompanyDocumentIn,
    ConnectionIn,
    NoticeIn,
    OfferIn,
    PaymentIn,
    kopecks,
)
from services.applications.state import ApplicationsState
from services.applications.steps import TU_FULFILLED, Offer
from shared import idempotency
from shared.auth import CurrentPrincipal
from shared.errors import Conflict
from shared.http import IdPath, answers
from shared.runtime import blocking

router = APIRouter(prefix="/api/v1/applications/{application_id}")
ANSWERS = answers(401, 403, 404, 409, 422)


async def _answer(
    state: ApplicationsState,
    application_id: str,
    principal: CurrentPrincipal,
    actor: Actor,
    claim: Application,
) -> dict[str, Any]:
    if await state.caught_up(application_id, claim.version):
        return await detail(state, application_id, principal)
    return as_committed(await detail(state, application_id, principal), claim, actor.role)


async def _files(
    state: ApplicationsState, actor: Actor, slot: str, file_ids: list[str]
) -> tuple[list[dict[str, str]], set[str]]:
    """The files as documents of ``slot`` (with their names) and which of them ``actor`` owns."""
    owned = await state.owned_files(actor.account_id, file_ids)
    docs = [{"slot": slot, "file_id": f, "name": owned[f]["name"] if f in owned else ""} for f in file_ids]
    return docs, set(owned)


@router.post("/offer", responses=ANSWERS)
async def place_offer(
    application_id: IdPath, body: OfferIn, state: State, principal: CurrentPrincipal, actor: CurrentActor
) -> dict[str, Any]:
    """Staff place the contract (offer), the ТУ and the invoice: «Заключение договора ТП»."""
    key = parse_id(application_id)
    contract, owned = await _files(state, actor, "offer_contract", [body.contract_file_id])
    conditions, owned_tu = await _files(
        state, actor, "technical_conditions", [body.technical_conditions_file_id]
    )
    offer = Offer(
        contract=contract[0],
        technical_conditions=conditions[0],
        amount_kopecks=kopecks(body.invoice.amount_rub),
        term=body.activities_term.rule(),
        needs_signature=body.needs_signature,
    )
    app = state.app
    claim, _ = await blocking(
        app.act,
        key,
        actor,
        lambda c: c.place_offer(actor, offer, owned | owned_tu, app.due_now(c, "contract")),
    )
    return await _answer(state, application_id, principal, actor, claim)


@router.post("/payments", responses=ANSWERS)
async def record_payment(
    application_id: IdPath, body: PaymentIn, state: State, principal: CurrentPrincipal, actor: CurrentActor
) -> dict[str, Any]:
    """Staff or accounting record a payment (the payment port's accounting adapter); a repeated
    reference records nothing and answers the same. Full payment concludes the contract
    (offers without a signature)."""
    payment = Payment(kopecks(body.amount_rub), body.paid_at, body.reference, API)
    claim, _ = await Ledger(state.app, state.store).record(actor, parse_id(application_id), payment)
    return await _answer(state, application_id, principal, actor, claim)


@router.post("/acceptance", responses=ANSWERS)
async def decide(
    application_id: IdPath, body: AcceptanceIn, state: State, principal: CurrentPrincipal, actor: CurrentActor
) -> dict[str, Any]:
    """The applicant signs the offer (the contract is concluded) or refuses it with reasons.
    ``code`` (the one-time e-mail code of the signature) is not checked yet."""
    key = parse_id(application_id)
    app, on = state.app, today()
    accept = body.decision == "accept"
    claim, _ = await blocking(
        app.act, key, actor, lambda c: c.decide(actor, accept, body.comment, on, app.activities_due(c, on))
    )
    return await _answer(state, application_id, principal, actor, claim)


@router.post("/notices", responses=ANSWERS)
async def notify(
    application_id: IdPath, body: NoticeIn, state: State, principal: CurrentPrincipal, actor: CurrentActor
) -> dict[str, Any]:
    """«Уведомление о выполнении ТУ» with files: «Проверка выполнения ТУ»."""
    key = parse_id(application_id)
    documents, owned = await _files(state, actor, TU_FULFILLED, list(dict.fromkeys(body.file_ids)))
    app = state.app
    claim, _ = await blocking(
        app.act,
        key,
        actor,
        lambda c: c.notify(actor, body.kind, documents, owned, app.due_now(c, "tu_check")),
    )
    return await _answer(state, application_id, principal, actor, claim)


@router.post("/connection", responses=ANSWERS)
async def record_connection(
    application_id: IdPath, body: ConnectionIn, state: State, principal: CurrentPrincipal, actor: CurrentActor
) -> dict[str, Any]:
    """Staff record the actual connection and voltage supply: «Подготовка актов ТП»."""
    key = parse_id(application_id)
    app, on = state.app, today()
    claim, _ = await blocking(
        app.act,
        key,
        actor,
        lambda c: c.record_connection(
            actor, body.connected_at, body.voltage_applied_at, on, app.due_now(c, "acts")
        ),
    )
    return await _answer(state, application_id, principal, actor, claim)


@router.post(
    "/company-documents",
    status_code=201,
    responses=answers(400, 401, 403, 404, 409, 422),
    openapi_extra=idempotency.OPENAPI,
)
async def place_document(
    application_id: IdPath,
    body: CompanyDocumentIn,
    request: Request,
    response: Response,
    state: State,
    principal: CurrentPrincipal,
    actor: CurrentActor,
) -> dict[str, Any]:
    """Staff place a typed company document; the notice or the act of ТП completes the
    application. With ``Idempotency-Key`` a repeat places nothing (``Idempotent-Replayed``)."""
    key = parse_id(application_id)
    token = idempotency.key_of(request)
    document_id = str(
        idempotency.derived_id("company_document", f"{actor.account_id}:{key}", token)
        if token
        else uuid.uuid4()
    )
    documents, owned = await _files(state, actor, body.kind, [body.file_id])
    placed: list[bool] = []

    def step(c: Application) -> None:
        placed.append(c.place_document(actor, document_id, body.kind, documents[0], owned))

    try:
        claim, _ = await blocking(state.app.act, key, actor, step)
    except Conflict as refused:
        if token and refused.code == "document_id_taken":
            raise idempotency.reused() from None  # the key was used for another document
        raise
    if placed == [False]:
        response.headers[idempotency.REPLAYED] = "true"
    return {**await _answer(state, application_id, principal, actor, claim), "document_id": document_id}
