"""Identity's HTTP API (``/api/v1``): a router per resource — accounts and the e-mail
confirmation, sessions, the caller's own account, password reset, staff and admin views.
Each carries the full prefix, so the app holds their routes directly (shared/runtime.py
``add_routes``)."""

from __future__ import annotations

from services.identity.api import accounts, admin, me, password_reset, sessions

ROUTERS = tuple(resource.router for resource in (accounts, sessions, me, password_reset, admin))
