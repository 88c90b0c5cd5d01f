"""The applications routes' dependencies, as named annotations."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends

from services.applications.actor import Actor
from services.applications.app import not_found
from services.applications.state import ApplicationsState
from shared.auth import CurrentPrincipal, Principal, require_role
from shared.service import state_of

State = Annotated[ApplicationsState, Depends(state_of(ApplicationsState))]
Admin = Annotated[Principal, Depends(require_role("admin"))]


async def current_actor(state: State, principal: CurrentPrincipal) -> Actor:
    return await state.actor(principal)


CurrentActor = Annotated[Actor, Depends(current_actor)]


def parse_id(application_id: str) -> uuid.UUID:
    """An application's id from the path; one of the wrong shape is simply not found."""
    try:
        return uuid.UUID(application_id)
    except ValueError:
        raise not_found() from None
