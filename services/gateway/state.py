"""What the running gateway holds: its pooled client of the services, the start-up gate's
state and the merged contract. Routes reach it through :data:`Gateway`, the pages and
middleware through :func:`gateway_of`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from services.gateway.contract import Contracts
from services.gateway.proxy import ServiceClient
from services.gateway.startup import Startup
from shared.service import state_in, state_of
from shared.settings import Settings


@dataclass(frozen=True)
class GatewayState:
    settings: Settings
    client: ServiceClient
    startup: Startup
    contracts: Contracts


def gateway_of(conn: HTTPConnection) -> GatewayState:
    return state_in(conn, GatewayState)


Gateway = Annotated[GatewayState, Depends(state_of(GatewayState))]
