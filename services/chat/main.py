"""Chat service process: API and live socket, outbox relay, reference projections, the hub.

One chat process per deployment: the live fan-out, the per-thread command locks and the
rate limiter are in memory (services/chat/README.md says why, and how to scale it out).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI

from services.chat.api import router
from services.chat.app import ChatApp
from services.chat.hub import Hub, Presence
from services.chat.link import router as link_router
from services.chat.projections import Directory, References
from services.chat.public import to_public
from services.chat.socket import router as socket_router
from shared.auth import start_auth
from shared.consumer import ConsumerRunner
from shared.http import add_health
from shared.readstore import build_readstore
from shared.relay import Relay
from shared.runtime import Workers, construct, dependencies, service_app
from shared.settings import Settings
from shared.transport import build_transport

SERVICE = "chat"
log = structlog.get_logger(__name__)


class _Workers(Workers):
    """Workers whose stop repeats the cancellation until every loop has ended: on Python 3.11 a
    cancellation can be swallowed (``asyncio.wait_for`` racing its timeout, a cleanup awaiting
    a lock), which left the shutdown waiting forever."""

    async def stop(self) -> None:
        pending = set(self._tasks)
        while pending:
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=1.0)
        self._tasks.clear()


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        chat = await construct(ChatApp, settings)
        store = build_readstore(settings, SERVICE)
        await store.open()
        transport = build_transport(settings)
        await transport.start()
        relay = Relay(
            name=SERVICE,
            app=chat,
            mapper=to_public,
            transport=transport,
            topic=settings.topic(SERVICE),
            store=store,
            batch_size=settings.batch_size,
            poll_interval=settings.poll_interval,
        )
        directory = Directory(store)
        topics = (settings.topic("applications"), settings.topic("identity"), settings.topic("files"))
        references = ConsumerRunner(
            References(*topics, on_renamed=directory.forget),
            transport,
            store,
            on_applied=directory.progressed,
        )
        await references.setup()
        presence = Presence(store)
        await presence.load()
        hub = Hub(presence)
        loop = asyncio.get_running_loop()

        # Called from the command's worker thread, under the thread's lock: in sequence order.
        def posted(thread_id: str, message: dict[str, Any]) -> None:
            loop.call_soon_threadsafe(hub.message, thread_id, message)

        def read(thread_id: str, receipt: dict[str, Any]) -> None:
            loop.call_soon_threadsafe(hub.read, thread_id, receipt)

        # The relay is not woken per command: under load it publishes in batches every poll
        # interval (20 ms). Nothing live waits for it — the sockets are pushed by the hub.
        chat.on_posted = posted
        chat.on_read = read
        workers = _Workers()
        workers.start("chat.relay", relay.run)
        workers.start("chat.references", references.run)
        auth = start_auth(settings, SERVICE, store, transport, workers)
        workers.start("chat.hub", lambda: hub.maintain(lambda sid: sid in auth.registry.sessions))
        app.state.auth = auth
        app.state.chat = chat
        app.state.store = store
        app.state.dependencies = dependencies(store=store, events=chat, transport=transport)
        app.state.directory = directory
        app.state.hub = hub
        app.state.relay = relay
        app.state.references = references
        try:
            yield
        finally:
            await workers.stop()
            # A cancelled worker's to_thread() call may still be running (a relay append, a
            # poll): let it finish before its SQLite connection is closed under it.
            await asyncio.sleep(0.2)
            try:
                await presence.flush()
            except Exception:  # noqa: BLE001 - best effort: a cancelled worker may have left the store mid-transaction
                log.warning("chat.presence_not_flushed")
            await transport.stop()
            await store.close()
            chat.close()

    app = service_app(SERVICE, settings, lifespan)
    app.include_router(router)
    app.include_router(socket_router)
    app.include_router(link_router)

    async def check() -> dict[str, object]:
        return {"relay_position": app.state.relay.position, "sockets": app.state.hub.sockets}

    add_health(app, SERVICE, check)
    return app
