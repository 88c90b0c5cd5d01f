"""Applications' HTTP API (``/api/v1``), one router per resource."""

from services.applications.routes import (
    applications,
    assignment,
    catalog,
    fees,
    form,
    invoice,
    payments,
    process,
    termination,
    watch,
    workflow,
)

ROUTERS = (
    catalog.router,
    fees.router,
    applications.router,
    form.router,
    workflow.router,
    process.router,
    invoice.router,
    watch.router,
    payments.router,
    assignment.router,
    termination.router,
)
