"""A forgotten password: a reset link by e-mail, and the new password set by it."""

from __future__ import annotations

from fastapi import APIRouter

from services.identity.api.deps import AuditInfo, State
from services.identity.api.schemas import EmailIn, PasswordResetIn, StatusOut
from services.identity.mail_requests import MailRequest
from shared.http import answers
from shared.runtime import blocking

router = APIRouter(prefix="/api/v1")


@router.post("/password-reset", status_code=202, response_model=StatusOut, responses=answers(422))
async def request_password_reset(body: EmailIn, state: State, audit: AuditInfo) -> StatusOut:
    """Always the same answer at the same speed: it never tells whether the address is
    registered (the background worker does the work)."""
    state.mail.submit(MailRequest("reset", str(body.email), audit))
    return StatusOut(
        status="accepted",
        message="Если адрес зарегистрирован, на него отправлена ссылка для смены пароля."
        " Она действует 1 час.",
    )


@router.post("/password-reset/confirm", response_model=StatusOut, responses=answers(400, 409, 422))
async def confirm_password_reset(body: PasswordResetIn, state: State, audit: AuditInfo) -> StatusOut:
    account = await blocking(state.identity.reset_password, body.token, body.new_password, audit)
    # The owner proved the address: whatever anyone tried against the login is forgotten.
    await state.throttle.forgive(account.login)
    return StatusOut(status="changed", message="Пароль изменён. Войдите с новым паролем.")
