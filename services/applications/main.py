"""Applications service process: API, outbox relay and projections (shared/service.py)."""

from __future__ import annotations

from fastapi import FastAPI

from services.applications.app import ApplicationsApp
from services.applications.catalog_view import CatalogView
from services.applications.numbers import NumberSeries, counter_store
from services.applications.projections import (
    ApplicationsView,
    ChatCounters,
    DocumentsView,
    FormsView,
    ProcessView,
)
from services.applications.projections.hashes import FileHashes, HashLookup
from services.applications.public import make_mapper
from services.applications.routes import ROUTERS
from services.applications.routes.payments import IMPORT_PATH
from services.applications.routes.payments import LIMIT as STATEMENT_LIMIT
from services.applications.state import ApplicationsState
from services.applications.watcher import Watcher, open_applications
from shared.middleware import RouteLimit
from shared.references import Lookup, References
from shared.runtime import blocking
from shared.service import Runtime, Service, create_service_app, events_of
from shared.settings import Settings


async def build(runtime: Runtime) -> ApplicationsState:
    app = events_of(runtime, ApplicationsApp)
    await blocking(app.seed_catalog)
    numbers = NumberSeries(runtime.store, counter_store(runtime.settings))
    await numbers.setup()
    runtime.on_close(numbers.close)
    views = (
        runtime.consume(ApplicationsView()),
        runtime.consume(DocumentsView()),
        runtime.consume(ProcessView()),
    )
    refs = runtime.consume(References("applications", ("accounts", "files")))
    catalog = CatalogView(app.catalog, runtime.store)
    runtime.consume(FormsView(), on_applied=catalog.forms_changed)
    runtime.consume(ChatCounters())
    runtime.start_led("deadline_watcher", Watcher(app, open_applications(runtime.store)).run)
    hashes = HashLookup(runtime.store, runtime.consume(FileHashes()))
    lookup = Lookup(runtime.store, refs, "applications")
    return ApplicationsState(app, runtime.store, numbers, views, lookup, hashes=hashes, catalog=catalog)


def body_limit(settings: Settings) -> RouteLimit:
    """A bank statement (POST /api/v1/payments/import) may be up to 2 MB; the rest as usual."""
    return lambda method, path: (
        STATEMENT_LIMIT if (method, path) == ("POST", IMPORT_PATH) else settings.max_body_bytes
    )


SERVICE = Service(
    "applications", build, ROUTERS, application=ApplicationsApp, mapper=make_mapper, body_limit=body_limit
)


def create_app(settings: Settings) -> FastAPI:
    return create_service_app(SERVICE, settings)
