"""What wraps the gateway's routes: error pages, the static files, and the middleware, from
the outside in: the edge (:mod:`.edge`), the start-up gate (:mod:`.startup`), the pages'
protection headers, then the kernel's API headers and body limits."""

from __future__ import annotations

from fastapi import FastAPI

from services.gateway.edge import Edge
from services.gateway.errors import install_error_pages
from services.gateway.startup import StartupGate
from services.gateway.static import SecurityHeaders, mount_static
from shared.settings import Settings


def extend(app: FastAPI, settings: Settings) -> None:
    install_error_pages(app)
    mount_static(app)
    # Middleware added later runs outside what was added before.
    app.add_middleware(SecurityHeaders)
    app.add_middleware(StartupGate)
    app.add_middleware(Edge, settings=settings)  # outermost: everything else sees its decisions
