"""Files service process: API, blob store, outbox relay, the catalog and the attachment
grants, and the standard forms generated at first start."""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI

from services.files.api import DOCX, MAX_CONCURRENT_UPLOADS, FilesState, router
from services.files.app import FilesApp
from services.files.domain import SYSTEM
from services.files.forms import SPECS, build_docx
from services.files.projections import AttachmentGrants, Catalog
from services.files.public import to_public
from services.files.storage import BlobStore, build_blobstore, return_large_buffers_to_the_os
from services.files.upload import OVERHEAD
from shared.auth import start_auth
from shared.consumer import ConsumerRunner
from shared.http import ApiError, RouteLimit, add_health
from shared.readstore import build_readstore
from shared.relay import Relay
from shared.runtime import Workers, construct, dependencies, service_app
from shared.settings import Settings
from shared.transport import build_transport

SERVICE = "files"
log = structlog.get_logger(__name__)
_UPLOADS = re.compile(r"^/api/v1/(files|forms/[^/]+/versions)/?$")


def body_limit(settings: Settings) -> RouteLimit:
    """Uploads stream past the usual request limit up to the upload limit (the upload
    itself counts the file exactly); every other request, JSON for a filled-in form
    included, keeps the usual limit."""
    upload = settings.max_upload_bytes + OVERHEAD

    def limit(method: str, path: str) -> int:
        return upload if method == "POST" and _UPLOADS.match(path) else settings.max_body_bytes

    return limit


async def seed_forms(files: FilesApp, blobs: BlobStore, company: str = "") -> int:
    """Generate and publish every standard form not published yet (first start); returns
    the last notification id written, 0 when there was nothing to do."""
    position = 0
    for spec in SPECS:
        if await asyncio.to_thread(files.series, spec.code) is not None:
            continue
        data = await asyncio.to_thread(build_docx, spec, 1, company)
        key, info = await blobs.put_bytes(data, DOCX)
        audit = {"actor": SYSTEM, "ip": "", "user_agent": "files seed"}
        stored = files.new_file(
            owner_id=SYSTEM,
            name=f"{spec.title}.docx",
            size=info.size,
            content_type=DOCX,
            kind="docx",
            sha256=info.sha256,
            blob_key=key,
            archive_entries=None,
            audit=audit,
        )
        try:
            _, written = await asyncio.to_thread(
                functools.partial(
                    files.publish_form,
                    code=spec.code,
                    title=spec.title,
                    kind=spec.kind,
                    application_type_code=spec.application_type_code,
                    file=stored,
                    format="docx",
                    audit=audit,
                )
            )
        except ApiError:  # another process published it first
            continue
        position = max(position, written)
    if position:
        log.info("files.forms_seeded", position=position)
    return position


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        return_large_buffers_to_the_os()
        files = await construct(FilesApp, settings)
        blobs = build_blobstore(settings)
        await blobs.start()
        store = build_readstore(settings, SERVICE)
        await store.open()
        transport = build_transport(settings)
        await transport.start()
        relay = Relay(
            name=SERVICE,
            app=files,
            mapper=to_public,
            transport=transport,
            topic=settings.topic(SERVICE),
            store=store,
            batch_size=settings.batch_size,
            poll_interval=settings.poll_interval,
        )
        files.on_saved = relay.wake
        catalog = ConsumerRunner(Catalog(settings.topic(SERVICE)), transport, store)
        catalog.stalled = lambda: relay.stalled
        grants = ConsumerRunner(
            AttachmentGrants(files, settings.topic("applications"), settings.topic("chat")), transport, store
        )
        await catalog.setup()
        await grants.setup()
        workers = Workers()
        workers.start("files.relay", relay.run)
        workers.start("files.catalog", catalog.run)
        workers.start("files.attachments", grants.run)
        app.state.auth = start_auth(settings, SERVICE, store, transport, workers)
        app.state.relay = relay
        app.state.dependencies = dependencies(
            store=store, events=files, transport=transport, blobs=blobs.ping
        )
        app.state.files = FilesState(
            settings=settings,
            app=files,
            blobs=blobs,
            store=store,
            catalog=catalog,
            uploads=asyncio.Semaphore(MAX_CONCURRENT_UPLOADS),
        )
        try:
            seeded = await seed_forms(files, blobs, settings.company_name)
            if seeded and not await catalog.wait_for(SERVICE, seeded, timeout=30.0):
                log.warning("files.forms_catalog_behind", position=seeded)
            yield
        finally:
            await workers.stop()
            await transport.stop()
            await store.close()
            await blobs.close()
            files.close()

    app = service_app(SERVICE, settings, lifespan, body_limit=body_limit(settings))
    app.include_router(router)

    async def check() -> dict[str, object]:
        return {"relay_position": app.state.relay.position}

    add_health(app, SERVICE, check)
    return app
