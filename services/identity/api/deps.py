"""What identity's routes depend on: the service's state, the caller's session and role, the
audit of the request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from services.identity.domain import Account
from services.identity.state import IdentityState
from services.identity.values import ADMIN, STAFF, Audit
from shared.auth import check_csrf, forbidden, not_authenticated, token_from_request
from shared.edge import client_address
from shared.runtime import blocking
from shared.service import state_in, state_of

State = Annotated[IdentityState, Depends(state_of(IdentityState))]


async def get_audit(request: Request) -> Audit:  # on the loop: no worker-thread hop
    return {"ip": client_address(request), "user_agent": request.headers.get("user-agent", "")[:300]}


AuditInfo = Annotated[Audit, Depends(get_audit)]


def _token(request: Request, state: IdentityState) -> tuple[str, bool]:
    found = token_from_request(request, state.settings.session_cookie)
    if found is None:
        raise not_authenticated()
    return found


async def current_session(request: Request, state: State) -> tuple[Account, str]:
    """For changes: the account (a copy to change) and session; CSRF checked for cookies."""
    token, from_cookie = _token(request, state)
    if from_cookie:
        check_csrf(request)
    return await blocking(state.identity.authenticate, token)


async def viewing_session(request: Request) -> tuple[Account, str]:
    """For reads: the cached aggregate, checked on the loop (no query, no copy, no thread;
    the state is read here, not as one more dependency to resolve per request)."""
    state = state_in(request, IdentityState)
    return state.identity.authenticate(_token(request, state)[0], readonly=True)


CurrentSession = Annotated[tuple[Account, str], Depends(current_session)]
ViewingSession = Annotated[tuple[Account, str], Depends(viewing_session)]


def _with_role(*roles: str) -> Callable[[tuple[Account, str]], Awaitable[Account]]:
    async def checked(session: CurrentSession) -> Account:
        if not any(role in session[0].roles for role in roles):
            raise forbidden()
        return session[0]

    return checked


StaffAccount = Annotated[Account, Depends(_with_role(STAFF, ADMIN))]
AdminAccount = Annotated[Account, Depends(_with_role(ADMIN))]
