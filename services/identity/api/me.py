"""The caller's own account: who they are, their names, their password."""

from __future__ import annotations

from fastapi import APIRouter

from services.identity.api.deps import AuditInfo, CurrentSession, State, ViewingSession
from services.identity.api.schemas import MeOut, PasswordChangeIn, ProfileIn, StatusOut
from shared.http import answers
from shared.runtime import blocking

router = APIRouter()


@router.get("/me", response_model=MeOut, responses=answers(401))
async def me(session: ViewingSession) -> MeOut:
    return MeOut.of(session[0])


@router.patch("/me", response_model=MeOut, responses=answers(401, 403, 409, 422))
async def update_profile(body: ProfileIn, state: State, session: CurrentSession, audit: AuditInfo) -> MeOut:
    """Фамилия и Имя; once set, «Имя Фамилия» is shown instead of the login."""
    account = await blocking(
        state.identity.update_profile, session[0], body.first_name, body.last_name, audit
    )
    return MeOut.of(account)


@router.post("/me/password", response_model=StatusOut, responses=answers(400, 401, 403, 409, 422))
async def change_password(
    body: PasswordChangeIn, state: State, session: CurrentSession, audit: AuditInfo
) -> StatusOut:
    account, session_id = session
    await blocking(
        state.identity.change_password, account, session_id, body.current_password, body.new_password, audit
    )
    return StatusOut(status="changed", message="Пароль изменён. Другие сеансы входа завершены.")
