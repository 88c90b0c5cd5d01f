"""The facts of the grid-connection process that move an application (issue 12): the offer,
payments, the applicant's acceptance and notice, the connection, the company's documents.
Each answers the application's page once the views have the new facts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response

from services.applications.actor import Actor
from services.applications.answers import as_committed
from services.applications.app import changed_meanwhile, today
from services.applications.calendar import local_day
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
    SignatureCodeIn,
    kopecks,
)
from services.applications.state import ApplicationsState
from services.applications.steps import TU_FULFILLED, Offer
from shared import idempotency
from shared.auth import CurrentPrincipal
from shared.edge import client_address
from shared.errors import Conflict, DomainError, Unavailable
from shared.http import IdPath, answers
from shared.runtime import blocking
from shared.signature_code import signature_key

router = APIRouter(prefix="/api/v1/applications/{application_id}")
ANSWERS = answers(401, 403, 404, 409, 422)


async def page_answer(
    state: ApplicationsState,
    application_id: str,
    principal: CurrentPrincipal,
    actor: Actor,
    claim: Application,
) -> dict[str, Any]:
    if await state.caught_up(application_id, claim.version):
        return await detail(state, application_id, principal)
    return as_committed(await detail(state, application_id, principal), claim, actor.role)


async def owned_documents(
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
    contract, owned = await owned_documents(state, actor, "offer_contract", [body.contract_file_id])
    conditions, owned_tu = await owned_documents(
        state, actor, "technical_conditions", [body.technical_conditions_file_id]
    )
    offer = Offer(
        contract=contract[0],
        technical_conditions=conditions[0],
        amount_kopecks=kopecks(body.invoice.amount_rub),
        term=body.activities_term.rule(),
        needs_signature=body.needs_signature,
        state_buyer=body.state_buyer,
    )
    app = state.app
    claim, _ = await blocking(
        app.act,
        key,
        actor,
        lambda c: c.place_offer(actor, offer, owned | owned_tu, app.offer_due(c, offer)),
    )
    return await page_answer(state, application_id, principal, actor, claim)


@router.post("/payments", responses=ANSWERS)
async def record_payment(
    application_id: IdPath, body: PaymentIn, state: State, principal: CurrentPrincipal, actor: CurrentActor
) -> dict[str, Any]:
    """Staff or accounting record a payment (the payment port's accounting adapter); a repeated
    reference records nothing and answers the same. Full payment concludes the contract
    (offers without a signature)."""
    payment = Payment(kopecks(body.amount_rub), body.paid_at, body.reference, API)
    claim, _ = await Ledger(state.app, state.store).record(actor, parse_id(application_id), payment)
    return await page_answer(state, application_id, principal, actor, claim)


@router.post("/acceptance", responses=ANSWERS)
async def decide(
    application_id: IdPath,
    body: AcceptanceIn,
    request: Request,
    state: State,
    principal: CurrentPrincipal,
    actor: CurrentActor,
) -> dict[str, Any]:
    """The applicant signs the offer with the one-time code of the e-mail (the simple
    electronic signature: the contract is concluded) or refuses it with reasons. A wrong code
    is recorded as a failed attempt and refused; any other refusal records nothing."""
    key = parse_id(application_id)
    app, now = state.app, datetime.now(UTC)
    on = local_day(now, app.settings.time_zone)  # the day of the decision where the company is
    if body.decision == "reject":
        claim, _ = await blocking(
            app.act, key, actor, lambda c: c.decide(actor, False, body.comment, on, None)
        )
        return await page_answer(state, application_id, principal, actor, claim)
    secret, address = signature_key(app.settings.secret()), client_address(request)
    outcome: list[DomainError | None] = []

    def sign(c: Application) -> None:
        outcome.append(c.sign(actor, body.code, secret, now, address, app.activities_due(c, on)))

    claim, _ = await blocking(app.act, key, actor, sign)
    if outcome and outcome[0] is not None:
        await state.caught_up(application_id, claim.version)  # the page shows the attempt counted
        raise outcome[0]  # the failed attempt is saved; the answer is the refusal
    return await page_answer(state, application_id, principal, actor, claim)


@router.post("/acceptance/code", status_code=201, responses=answers(401, 403, 404, 409, 422, 429, 503))
async def request_signature_code(
    application_id: IdPath,
    state: State,
    actor: CurrentActor,
    body: SignatureCodeIn | None = None,
) -> dict[str, Any]:
    """A one-time code to sign the current offer's contract, sent to the applicant's e-mail
    (valid ``LK_SIGNATURE_CODE_TTL`` seconds; one request per ``LK_SIGNATURE_CODE_INTERVAL``)."""
    key = parse_id(application_id)
    app, settings = state.app, state.app.settings
    seen = await blocking(app.load, key, actor)
    contract, waiting = seen.contract, seen.status == "contract" and seen.contract is not None
    sha256 = await state.hashes.sha256(contract["file_id"]) if contract and waiting and state.hashes else None
    if waiting and sha256 is None:
        raise Unavailable("file_unknown", "Файл договора ещё не обработан. Повторите запрос через минуту.")
    challenge_id = str(uuid.uuid4())

    def issue(c: Application) -> None:
        if c.contract != contract:
            raise changed_meanwhile("Договор по заявке изменился. Обновите страницу.")
        now = datetime.now(UTC)
        ttl, interval = settings.signature_code_ttl, settings.signature_code_interval
        c.request_signature_code(actor, challenge_id, sha256 or "", now, ttl, interval)

    claim, _ = await blocking(app.act, key, actor, issue)
    await state.caught_up(application_id, claim.version)  # read-your-writes: the page's version
    issued = claim.signature_challenge or {}
    return {
        "challenge_id": challenge_id,
        "expires_at": issued.get("expires_at"),
        "sent_to": masked(claim.applicant_email),
        "document": {"file_id": issued.get("file_id"), "name": issued.get("name"), "sha256": sha256},
    }


def masked(email: str) -> str:
    """Where the code went, as the page may show it: ``i***@example.ru``."""
    name, _, domain = email.partition("@")
    return f"{name[:1]}***@{domain}" if domain else "***"


@router.post("/notices", responses=ANSWERS)
async def notify(
    application_id: IdPath, body: NoticeIn, state: State, principal: CurrentPrincipal, actor: CurrentActor
) -> dict[str, Any]:
    """«Уведомление о выполнении ТУ» with files: «Проверка выполнения ТУ»."""
    key = parse_id(application_id)
    documents, owned = await owned_documents(state, actor, TU_FULFILLED, list(dict.fromkeys(body.file_ids)))
    app = state.app
    claim, _ = await blocking(
        app.act,
        key,
        actor,
        lambda c: c.notify(actor, body.kind, documents, owned, app.due_now(c, "tu_check")),
    )
    return await page_answer(state, application_id, principal, actor, claim)


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
    return await page_answer(state, application_id, principal, actor, claim)


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
    documents, owned = await owned_documents(state, actor, body.kind, [body.file_id])
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
    return {**await page_answer(state, application_id, principal, actor, claim), "document_id": document_id}
