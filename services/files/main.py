"""Files service process: API, blob store, outbox relay, the catalog and the attachment
grants, and the standard forms generated at first start."""

from __future__ import annotations

from fastapi import FastAPI

from services.files.api import ROUTERS, body_limit
from services.files.app import FilesApp
from services.files.projections import AttachmentGrants, Catalog
from services.files.public import EVENTS
from services.files.seed import seed_and_list
from services.files.state import FilesState
from services.files.storage import build_blobstore, return_large_buffers_to_the_os
from shared.service import Runtime, Service, create_service_app, events_of
from shared.settings import Settings


async def build(runtime: Runtime) -> FilesState:
    """The blob store, the catalog and the attachment grants; the forms seeded before serving."""
    return_large_buffers_to_the_os()
    app = events_of(runtime, FilesApp)
    blobs = build_blobstore(runtime.settings)
    await blobs.start()
    runtime.on_close(blobs.close)
    runtime.probe("blobs", blobs.ping)
    catalog = runtime.consume(Catalog())
    runtime.consume(AttachmentGrants(app))
    files = FilesState(runtime.settings, app, blobs, runtime.store, catalog)
    runtime.on_started(lambda: seed_and_list(files))
    return files


SERVICE = Service(
    "files", build, ROUTERS, application=FilesApp, mapper=lambda _: EVENTS, body_limit=body_limit
)


def create_app(settings: Settings) -> FastAPI:
    return create_service_app(SERVICE, settings)
