"""``/api/v1`` in one process (``lk run``): each request is handed to the ASGI app of the
service that owns its path (:func:`services.gateway.routes.service_for`), the very app its own
uvicorn server runs, so its lifespan and state are already up. No socket, no HTTP client, no
second parse of the request: the service reads the client's body and writes its answer
straight through.

The layer sits right inside the edge (:mod:`.edge`) and the start-up gate (:mod:`.startup`):
the path it sees is already normal, the edge's headers (``X-LK-Edge``, ``X-Forwarded-*``)
already replaced, so a service believes them exactly as it does behind the proxy of the real
stack; and nothing is dispatched before every service has answered once. What the gateway
keeps for itself: a path of no service (404), the request's size by the routing table (413,
the service counts again), and the real ``Allow`` of a 405 (a service knows only the first
of its routes on a path; the merged contract knows them all). Tokens are each service's to
check, as they always were (every route that is not public depends on a session: the unit
tests hold each service to it). The gateway's own contract (``/api/v1/openapi.json``) and
the chat's WebSocket stay the gateway's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.gateway.api import allow, allowed_methods, not_found
from services.gateway.routes import API, body_limit, service_for
from shared.middleware import NO_STORE, BodyLimit
from shared.settings import Settings

CONTRACT = "/api/v1/openapi.json"  # the gateway's merged document (services/gateway/api.py)


class InProcess:
    """ASGI: ``/api/v1/*`` (HTTP) to the owning service's app; everything else to the gateway."""

    def __init__(self, app: ASGIApp, settings: Settings, services: Mapping[str, ASGIApp]) -> None:
        self.app = app
        self.services = dict(services)
        self.limited = BodyLimit(self.dispatch, body_limit(settings))
        self.not_found = not_found(headers=dict(NO_STORE))  # one answer, sent as often as asked

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API) or scope["path"] == CONTRACT:
            await self.app(scope, receive, send)
            return
        await self.limited(scope, receive, send)

    async def dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        service = service_for(scope["path"])
        target = self.services.get(service) if service else None
        if target is None:
            await self.not_found(scope, receive, send)
            return

        async def answer(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                message = {**message, "headers": await _real_allow(scope, message.get("headers", ()))}
            await send(message)

        # The service's own Starlette marks the scope as its own: it gets a copy.
        await target(dict(scope), receive, answer)


async def _real_allow(scope: Scope, headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """A service's 405 headers with ``Allow`` from the merged contract: every route of the
    path, as the real stack's gateway answers."""
    methods = await allowed_methods(scope["app"], scope["path"])
    kept = [(k, v) for k, v in headers if k.lower() != b"allow"]
    if methods:
        kept.append((b"allow", allow(methods).encode()))
    return kept
