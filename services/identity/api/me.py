"""The caller's own account: who they are, their names, their password."""

from __future__ import annotations

from fastapi import APIRouter

from services.identity.api.deps import AuditInfo, CurrentSession, State, ViewingSession
from services.identity.api.schemas import MeOut, PasswordChangeIn, ProfileIn, StatusOut
from shared.http import answers
from shared.runtime import blocking

router = APIRouter(prefix="/api/v1")


@router.get("/me", response_model=MeOut, responses=answers(401))
async def me(session: ViewingSession) -> MeOut:
    return MeOut.of(session[0])


@router.patch("/me", response_model=MeOut, responses=answers(401, 403, 409, 422))
async def update_profile(body: ProfileIn, state: State, session: CurrentSession, audit: AuditInfo) -> MeOut:
    """The profile's fields given; those left out are kept. Once set, «Имя Фамилия» (or a
    company's name) is shown instead of the login."""
    account = await blocking(
        state.identity.update_profile,
        session[0],
        body.first_name,
        body.last_name,
        audit,
        body.details(replace=False),
    )
    return MeOut.of(account)


@router.put("/me/profile", response_model=MeOut, responses=answers(401, 403, 409, 422))
async def replace_profile(body: ProfileIn, state: State, session: CurrentSession, audit: AuditInfo) -> MeOut:
    """The whole profile: what is left out is cleared (the names too)."""
    account = await blocking(
        state.identity.update_profile,
        session[0],
        body.first_name or "",
        body.last_name or "",
        audit,
        body.details(replace=True),
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
