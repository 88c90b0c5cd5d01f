"""Accounts: self-registration, the e-mail confirmation and a new confirmation link."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from services.identity.api.deps import AuditInfo, State
from services.identity.api.schemas import AccountOut, EmailIn, RegisterIn, StatusOut, TokenIn
from services.identity.mail_requests import MailRequest
from shared import idempotency
from shared.http import answers
from shared.runtime import blocking

router = APIRouter(prefix="/api/v1")


@router.post(
    "/accounts",
    status_code=201,
    response_model=AccountOut,
    responses=answers(400, 409, 422, 429),
    openapi_extra=idempotency.OPENAPI,
)
async def register(
    body: RegisterIn, request: Request, response: Response, state: State, audit: AuditInfo
) -> AccountOut:
    """Self-registration; only the «Потребитель» account type is accepted. Attempts are
    limited per client address (429). With ``Idempotency-Key`` a repeat of the same request
    answers the account made the first time (``Idempotent-Replayed: true``)."""
    keyed = idempotency.keyed(request, "registration", "", body.login.casefold(), str(body.email).casefold())
    await state.throttle.registration(audit["ip"])
    account, created = await blocking(
        state.identity.register_once,
        login=body.login,
        email=str(body.email),
        password=body.password,
        account_type=body.account_type,
        audit=audit,
        request=keyed,
    )
    if not created:
        response.headers[idempotency.REPLAYED] = "true"
    return AccountOut(
        id=str(account.id),
        login=account.login,
        email=account.email,
        account_type=account.account_type,
        email_confirmed=False,
    )


@router.post("/accounts/confirm-email", response_model=StatusOut, responses=answers(400, 409, 422))
async def confirm_email(body: TokenIn, state: State, audit: AuditInfo) -> StatusOut:
    await blocking(state.identity.confirm_email, body.token, audit)
    return StatusOut(status="confirmed", message="Адрес e-mail подтверждён. Теперь можно войти.")


@router.post(
    "/accounts/resend-confirmation", status_code=202, response_model=StatusOut, responses=answers(422)
)
async def resend_confirmation(body: EmailIn, state: State, audit: AuditInfo) -> StatusOut:
    """Queued for the background worker: the same answer, at once, for every address."""
    state.mail.submit(MailRequest("confirmation", str(body.email), audit))
    return StatusOut(
        status="accepted",
        message="Если адрес зарегистрирован и ещё не подтверждён, мы отправили на него новую ссылку.",
    )
