"""Applications service process: API, outbox relay and projections."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.applications.api import router
from services.applications.app import ApplicationsApp
from services.applications.numbers import NumberSeries
from services.applications.projections import ApplicationsView, ChatCounters, DocumentsView, References
from services.applications.public import make_mapper
from shared.auth import start_auth
from shared.consumer import ConsumerRunner
from shared.http import add_health
from shared.readstore import build_readstore
from shared.relay import Relay
from shared.runtime import Workers, construct, dependencies, service_app
from shared.settings import Settings
from shared.transport import build_transport

SERVICE = "applications"


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        applications = await construct(ApplicationsApp, settings)
        await asyncio.to_thread(applications.seed_catalog)
        store = build_readstore(settings, SERVICE)
        await store.open()
        transport = build_transport(settings)
        await transport.start()
        relay = Relay(
            name=SERVICE,
            app=applications,
            mapper=make_mapper(applications),
            transport=transport,
            topic=settings.topic(SERVICE),
            store=store,
            batch_size=settings.batch_size,
            poll_interval=settings.poll_interval,
        )
        applications.on_saved = relay.wake
        view = ConsumerRunner(
            ApplicationsView(settings.topic(SERVICE), settings.topic("identity")), transport, store
        )
        documents = ConsumerRunner(DocumentsView(settings.topic(SERVICE)), transport, store)
        view.stalled = documents.stalled = lambda: relay.stalled
        references = ConsumerRunner(
            References(settings.topic("identity"), settings.topic("files")), transport, store
        )
        chat = ConsumerRunner(ChatCounters(settings.topic("chat")), transport, store)
        await chat.setup()
        numbers = NumberSeries(store)
        await numbers.setup()
        await view.setup()
        await documents.setup()
        await references.setup()
        workers = Workers()
        workers.start("applications.relay", relay.run)
        workers.start("applications.view", view.run)
        workers.start("applications.documents", documents.run)
        workers.start("applications.references", references.run)
        workers.start("applications.chat", chat.run)
        app.state.auth = start_auth(settings, SERVICE, store, transport, workers)
        app.state.app = applications
        app.state.store = store
        app.state.dependencies = dependencies(store=store, events=applications, transport=transport)
        app.state.view = view
        app.state.documents = documents
        app.state.relay = relay
        app.state.numbers = numbers
        try:
            yield
        finally:
            await workers.stop()
            await transport.stop()
            await store.close()
            applications.close()

    app = service_app(SERVICE, settings, lifespan)
    app.include_router(router)

    async def check() -> dict[str, object]:
        return {"relay_position": app.state.relay.position}

    add_health(app, SERVICE, check)
    return app
