"""Process plumbing shared by the services: supervised background tasks and the app shell."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar

import anyio.to_thread
import structlog
from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, InternalError
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute
from fastapi.telemetry import TelemetryConfig
from starlette.routing import Route, WebSocketRoute

from shared.http import Dependency, install_error_handlers
from shared.middleware import ApiHeaders, BodyLimit, RouteLimit
from shared.readstore import ReadStore
from shared.settings import Settings
from shared.transport import Transport

log = structlog.get_logger(__name__)


# A crashed worker restarts after 0.5 s, 1 s, 2 s … at most 5 s apart (a dependency that
# comes back is used within seconds), and from 0.5 s again after a run of a minute.
RESTART_FIRST = 0.5
RESTART_MAX = 5.0
HEALTHY_RUN = 60.0


class Workers:
    """Background loops of one service; a loop that crashes is restarted with backoff."""

    def __init__(self) -> None:
        self._tasks: list[asyncio.Task[None]] = []

    def start(self, name: str, factory: Callable[[], Awaitable[None]]) -> None:
        async def supervised() -> None:
            delay = RESTART_FIRST
            while True:
                started = time.monotonic()
                try:
                    await factory()
                    return
                except asyncio.CancelledError:
                    raise
                except Exception:
                    if time.monotonic() - started > HEALTHY_RUN:
                        delay = RESTART_FIRST  # it ran well before failing: not a crash loop
                    log.exception("worker.crashed", worker=name, restart_in=delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, RESTART_MAX)

        self._tasks.append(asyncio.create_task(supervised(), name=name))

    async def stop(self) -> None:
        # Cancel until every task is done: on Python 3.11 a cancellation can be swallowed
        # inside library code, and a plain gather would then hang the shutdown.
        pending = set(self._tasks)
        while pending:
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=1.0)
        self._tasks.clear()


def dependencies(
    *,
    store: ReadStore | None = None,
    events: Application[Any] | None = None,
    transport: Transport | None = None,
    **more: Dependency,
) -> dict[str, Dependency]:
    """The probes a service's readiness (``/health``) reports, by name."""
    found: dict[str, Dependency] = {}
    if store is not None:
        found["read_store"] = store.ping
    if events is not None:
        recorder = events.recorder
        found["event_store"] = lambda: asyncio.to_thread(recorder.max_notification_id)  # type: ignore[attr-defined]
    if transport is not None:
        found["transport"] = transport.ping
    return {**found, **more}


COMMAND_TIMEOUT = 5.0


async def command(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """A short command or query of a service's own event store (``fn``: a method of its
    :class:`~shared.application.ServiceApplication`): a few rows read or written, no other
    I/O. On the embedded default (SQLite: a write is microseconds and one fsync) it runs on
    the event loop itself — the hand-off to a worker thread and back cost more, and under
    load the workers queued for the GIL and for the store's one writer (issue 14's profile:
    a 0.6 ms save took 16 ms). On the real stack (PostgreSQL over the network) it is
    :func:`blocking`. Anything slower (password hashing, documents, blobs) stays
    :func:`blocking` on both."""
    owner = getattr(fn, "__self__", None)
    if getattr(owner, "inline_commands", False):
        return fn(*args, **kwargs)
    return await blocking(fn, *args, **kwargs)


async def blocking(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a synchronous command (the eventsourcing library is synchronous) in a worker thread,
    bounded in time: a store that does not answer makes the caller's request fail with 503
    within seconds (TimeoutError), instead of holding it while the library retries for most of
    a minute. The thread finishes on its own; an idempotency key makes a retry safe."""
    # anyio's thread pool (as FastAPI's own), abandoned on timeout rather than waited for.
    call = functools.partial(fn, *args, **kwargs)
    return await asyncio.wait_for(anyio.to_thread.run_sync(call, abandon_on_cancel=True), COMMAND_TIMEOUT)


Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]
NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}
T = TypeVar("T")


async def construct(factory: Callable[..., T], *args: Any) -> T:
    """Build an eventsourcing Application off the loop. Services starting together on a
    fresh PostgreSQL database can race creating tables (a duplicate ``pg_type`` entry, or
    "tuple concurrently updated" when two replace the same catalog row at once); the loser
    simply tries again."""
    for attempt in range(5):
        try:
            return await asyncio.to_thread(factory, *args)
        except (IntegrityError, InternalError) as exc:
            raced = isinstance(exc, IntegrityError) or "concurrently updated" in str(exc)
            if attempt == 4 or not raced:
                raise
            await asyncio.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


def service_app(
    name: str,
    settings: Settings,
    lifespan: Lifespan,
    *,
    body_limit: int | RouteLimit | None = None,
    openapi_url: str | None = "/api/v1/openapi.json",
    pages: bool = False,
) -> FastAPI:
    """A FastAPI app with the platform's conventions: JSON errors, a request-size limit
    (``body_limit``: bytes, or bytes per route; ``LK_MAX_BODY_BYTES`` by default), API
    answers that are never cached or sniffed, the OpenAPI document at its public path, no
    interactive docs (they would load scripts from a CDN) and no OpenTelemetry hooks (none is
    configured; asking each request whether one is costs more than the route itself)."""

    @asynccontextmanager
    async def wrapped(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        async with lifespan(app):
            yield

    app = FastAPI(
        title=f"Личный кабинет ТП — {name}",
        lifespan=wrapped,
        openapi_url=openapi_url,
        docs_url=None,
        redoc_url=None,
        telemetry=NO_TELEMETRY,
    )
    install_error_handlers(app)
    app.add_middleware(BodyLimit, limit=body_limit or settings.max_body_bytes, pages=pages)
    app.add_middleware(ApiHeaders)
    return app


_PLAIN_ROUTES = (APIRoute, APIWebSocketRoute, Route, WebSocketRoute)


def add_routes(app: FastAPI, router: APIRouter) -> None:
    """The router's routes, straight on the app's own router. ``include_router`` wraps a
    router in an inclusion that, per request, walks every route for a version number and
    matches the path twice at each level (half the cost of a small read on this FastAPI);
    a router whose routes carry their full paths (its own ``prefix``) and that includes no
    other router needs none of it. Any other router is included as FastAPI does."""
    plain = all(isinstance(route, _PLAIN_ROUTES) for route in router.routes)
    if plain and not router.on_startup and not router.on_shutdown:
        app.router.routes.extend(router.routes)
    else:
        app.include_router(router)
