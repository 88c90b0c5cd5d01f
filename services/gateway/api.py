"""``/api/v1``: the merged contract, and (on the real stack) every other path forwarded to the
service that owns it (:mod:`services.gateway.routes`) — after the gateway has refused what it
can itself: a path of no route (404), a method the route does not take (405 with the real
``Allow``), and a request without a valid session where one is needed (401, before any
service is asked). In one process (``lk run``) :mod:`.dispatch` hands the request to the
service's app instead, and this route is never reached."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse

from services.gateway.routes import is_public, service_for
from services.gateway.state import Gateway, GatewayState
from shared.auth import current_principal
from shared.http import error_body

router = APIRouter(include_in_schema=False)
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def not_found(headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body("not_found", "Не найдено."), 404, headers=headers)


def allow(methods: frozenset[str]) -> str:
    """The ``Allow`` header of a 405."""
    return ", ".join(sorted(methods))


async def allowed_methods(app: FastAPI, path: str) -> frozenset[str] | None:
    """The methods the contract has for ``path`` (None: no route), of the gateway ``app``."""
    gateway = app.state.service
    if not isinstance(gateway, GatewayState):
        raise TypeError("this app is not the gateway")
    return (await gateway.contracts.get()).methods_for(path)


@router.get("/api/v1/openapi.json")
async def openapi(gateway: Gateway) -> JSONResponse:
    """The public contract: every service's ``/api/v1`` routes in one document."""
    return JSONResponse((await gateway.contracts.get()).document)


@router.api_route("/api/v1/{path:path}", methods=METHODS)
async def forward(request: Request, gateway: Gateway) -> Response:
    path = request.url.path
    service = service_for(path)
    if service is None:
        return not_found()
    known = await gateway.contracts.get()
    methods = known.methods_for(path)
    if methods is None and service in known.services:
        return not_found()
    if methods is not None and request.method not in methods:
        return JSONResponse(
            error_body("method_not_allowed", "Метод не поддерживается."),
            405,
            headers={"allow": allow(methods)},
        )
    if not is_public(request.method, path):
        await current_principal(request)  # a bad, expired or revoked token: 401 (CSRF: 403) here
    return await gateway.client.forward(request, service)
