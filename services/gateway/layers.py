"""What wraps the gateway's routes: error pages, the static files, and the middleware, from
the outside in: the edge (:mod:`.edge`), the start-up gate (:mod:`.startup`), in one process
the API's dispatch to the services' apps (:mod:`.dispatch`), the pages' protection headers,
then the kernel's API headers and body limits."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import FastAPI
from starlette.types import ASGIApp

from services.gateway.dispatch import InProcess
from services.gateway.edge import Edge
from services.gateway.errors import install_error_pages
from services.gateway.startup import StartupGate
from services.gateway.static import SecurityHeaders, mount_static
from shared.settings import Settings


def extend(app: FastAPI, settings: Settings, in_process: Mapping[str, ASGIApp] | None = None) -> None:
    """``in_process``: the services' apps by name, when they run in this process."""
    install_error_pages(app)
    mount_static(app)
    # Middleware added later runs outside what was added before.
    app.add_middleware(SecurityHeaders)
    if in_process:
        app.add_middleware(InProcess, settings=settings, services=in_process)
    app.add_middleware(StartupGate)
    app.add_middleware(Edge, settings=settings)  # outermost: everything else sees its decisions
