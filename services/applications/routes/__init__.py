"""Applications' HTTP API (``/api/v1``), one router per resource."""

from services.applications.routes import applications, assignment, catalog, process, workflow

ROUTERS = (catalog.router, applications.router, workflow.router, process.router, assignment.router)
