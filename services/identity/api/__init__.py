"""Identity's HTTP API (``/api/v1``): a router per resource — accounts and the e-mail
confirmation, sessions, the caller's own account, password reset, staff and admin views."""

from __future__ import annotations

from fastapi import APIRouter

from services.identity.api import accounts, admin, me, password_reset, sessions

router = APIRouter(prefix="/api/v1")
for _resource in (accounts, sessions, me, password_reset, admin):
    router.include_router(_resource.router)
