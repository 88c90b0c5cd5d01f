"""Identity service process: API, outbox relay, the account-directory projection and the
worker that serves resend and reset requests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.identity.api import router
from services.identity.app import IdentityApp
from services.identity.mail_requests import MailRequests
from services.identity.projections import AccountDirectory
from services.identity.public import make_mapper
from services.identity.throttle import Throttle
from shared.consumer import ConsumerRunner
from shared.http import add_health
from shared.readstore import build_readstore
from shared.relay import Relay
from shared.runtime import Workers, construct, dependencies, service_app
from shared.settings import Settings

SERVICE = "identity"


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from shared.transport import build_transport

        identity = await construct(IdentityApp, settings)
        store = build_readstore(settings, SERVICE)
        await store.open()
        transport = build_transport(settings)
        await transport.start()
        relay = Relay(
            name=SERVICE,
            app=identity,
            mapper=make_mapper(identity),
            transport=transport,
            topic=settings.topic(SERVICE),
            store=store,
            batch_size=settings.batch_size,
            poll_interval=settings.poll_interval,
        )
        identity.on_saved = relay.wake
        directory = ConsumerRunner(AccountDirectory(settings.topic(SERVICE)), transport, store)
        await directory.setup()
        throttle = Throttle(store, settings)
        await throttle.setup()
        mail_requests = MailRequests(identity, throttle, settings.mail_queue_max)
        workers = Workers()
        workers.start("identity.relay", relay.run)
        workers.start("identity.directory", directory.run)
        workers.start("identity.mail_requests", mail_requests.run)
        workers.start("identity.counters_purge", throttle.purge_loop)
        app.state.identity = identity
        app.state.relay = relay
        app.state.directory = directory
        app.state.store = store
        app.state.dependencies = dependencies(store=store, events=identity, transport=transport)
        app.state.throttle = throttle
        app.state.mail_requests = mail_requests
        try:
            yield
        finally:
            await mail_requests.drain(timeout=5.0)
            await workers.stop()
            await transport.stop()
            await store.close()
            identity.close()

    app = service_app(SERVICE, settings, lifespan)
    app.include_router(router)

    async def check() -> dict[str, object]:
        return {"relay_position": app.state.relay.position}

    add_health(app, SERVICE, check)
    return app
