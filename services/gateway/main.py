"""The gateway: the one public entry point (the pages and ``/api/v1``); no event store."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from functools import partial

from fastapi import FastAPI
from starlette.types import ASGIApp

from services.gateway import api, chat_ws, layers, pages, static
from services.gateway.contract import Contracts
from services.gateway.proxy import ServiceClient
from services.gateway.routes import BACKENDS, body_limit
from services.gateway.startup import Startup
from services.gateway.state import GatewayState
from shared.service import Runtime, Service, create_service_app
from shared.settings import Settings


async def build(runtime: Runtime) -> GatewayState:
    client = ServiceClient(runtime.settings)
    runtime.on_close(client.close)
    startup = Startup({name: client.readiness(name) for name in BACKENDS})
    for name, probe in startup.services.items():
        runtime.probe(name, probe)  # the gateway is ready when every service behind it is
    runtime.start("startup", startup.wait)
    return GatewayState(runtime.settings, client, startup, Contracts(client))


GATEWAY = Service(
    name="gateway",
    build=build,
    routers=(api.router, static.router, *pages.ROUTERS, chat_ws.router),
    body_limit=body_limit,  # uploads stream through to files, which counts each file exactly
    openapi=False,  # it publishes the services' merged contract instead (api.py)
    pages=True,
    extend=layers.extend,
)


def create_app(settings: Settings, in_process: Mapping[str, ASGIApp] | None = None) -> FastAPI:
    """The gateway; ``in_process``: the services' apps running in this process (``lk run``),
    to which ``/api/v1`` is then dispatched directly (:mod:`.dispatch`)."""
    if not in_process:
        return create_service_app(GATEWAY, settings)
    return create_service_app(
        replace(GATEWAY, extend=partial(layers.extend, in_process=in_process)), settings
    )
