"""One service bootstrap: what every process of the platform does the same way.

A service declares itself — its eventsourcing application (if it has one), the mapper of
its domain events to public ones, its routers, and ``build``, which wires its own parts
(projections, workers) on the :class:`Runtime` and returns its typed state. The runtime
owns the rest, in one place and in one order: the event store, the read store, the
transport, the outbox relay woken on every commit, the session registry that checks
tokens, the consumer runners and workers with restart, readiness probes, and teardown.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from fastapi import APIRouter, FastAPI
from starlette.requests import HTTPConnection

from shared.application import ServiceApplication
from shared.auth import Authenticator, start_auth
from shared.consumer import ConsumerRunner, Projection
from shared.http import Dependency, add_health
from shared.leader import Leader, PartitionedRunner
from shared.metrics import Measure, Read, RequestMetrics, unwatch, watch
from shared.middleware import RouteLimit
from shared.readstore import ReadStore, build_readstore
from shared.relay import Mapper, Relay
from shared.runtime import Workers, add_routes, construct, dependencies, service_app
from shared.settings import Settings
from shared.topology import topics
from shared.transport import Transport, build_transport

S = TypeVar("S")
A = TypeVar("A", bound=ServiceApplication)


@dataclass
class Runtime:
    """A running service's shared parts, handed to its ``build``."""

    name: str
    settings: Settings
    store: ReadStore
    transport: Transport
    workers: Workers
    leader: Leader
    events: ServiceApplication | None = None
    relay: Relay | None = None
    auth: Authenticator | None = None
    runners: list[ConsumerRunner] = field(default_factory=list)
    stopping: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    closing: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    starting: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    probes: dict[str, Dependency] = field(default_factory=dict)
    measures: list[Measure] = field(default_factory=list)

    def topic(self, service: str) -> str:
        return self.settings.topic(service)

    def consume(
        self, projection: Projection, *, on_applied: Callable[[], None] | None = None
    ) -> ConsumerRunner:
        """Feed ``projection`` from its topics (shared/topology.py; set up and started with the
        service). Its read-your-writes waits give up at once while this service's relay is
        stalled. Each partition is consumed by one replica at a time, the partitions split across
        the replicas (each stream has one writer: shared/leader.py), unless the projection says
        ``every_replica`` (state in the process's memory that every replica needs, written by
        idempotent rows)."""
        if not projection.topics:
            projection.topics = topics(projection.name, self.settings)
        options: dict[str, Any] = {
            "on_applied": on_applied,
            "attempts": self.settings.dead_letter_attempts,
            "retry_first": self.settings.dead_letter_retry,
        }
        runner: ConsumerRunner
        if getattr(projection, "every_replica", False):
            runner = ConsumerRunner(projection, self.transport, self.store, **options)
        else:
            spread = self.settings.replicas_of(self.name) > 1
            runner = PartitionedRunner(
                projection, self.transport, self.store, self.leader, spread=spread, **options
            )
        relay = self.relay
        if relay is not None:
            runner.stalled = lambda: relay.stalled
        self.runners.append(runner)
        return runner

    def start(self, name: str, loop: Callable[[], Awaitable[None]]) -> None:
        """A background loop of the service, restarted with backoff if it fails."""
        self.workers.start(f"{self.name}.{name}", loop)

    def start_led(self, name: str, loop: Callable[[], Awaitable[None]]) -> None:
        """A background loop that runs in one replica of the service at a time (the leader of
        ``<service>.<name>``), restarted with backoff if it fails."""
        full = f"{self.name}.{name}"
        self.workers.start(full, lambda: self.leader.hold(full, loop))

    def on_stopping(self, step: Callable[[], Awaitable[None]]) -> None:
        """A step run when the service stops, before its workers do (work off a queue they
        serve); it bounds its own time."""
        self.stopping.append(step)

    def on_close(self, step: Callable[[], Awaitable[None]]) -> None:
        """A teardown step of the service's own, run after its workers stopped."""
        self.closing.append(step)

    def on_started(self, step: Callable[[], Awaitable[None]]) -> None:
        """A start-up step of the service's own, run once its consumers and workers run and
        before it serves (what it must have done before its first answer)."""
        self.starting.append(step)

    def probe(self, name: str, check: Dependency) -> None:
        """One more dependency its readiness (``/health``) reports (a blob store, a server)."""
        self.probes[name] = check

    def measure(self, name: str, help: str, read: Read, *, counter: bool = False) -> None:
        """One more figure of the service's own on ``/metrics`` (labelled with the service),
        read at each scrape: a number, or a coroutine giving one (shared/metrics.py)."""
        self.measures.append(Measure(name, help, read, counter))

    def consumers(self) -> list[ConsumerRunner]:
        """Every consumer runner of the service, its session registry's included."""
        return [*self.runners, *([self.auth.runner] if self.auth is not None else [])]


@dataclass(frozen=True)
class Service(Generic[S]):
    """What a service declares; :func:`create_service_app` does the rest."""

    name: str
    build: Callable[[Runtime], Awaitable[S]]
    routers: Sequence[APIRouter] = ()
    application: Callable[[Settings], ServiceApplication] | None = None
    mapper: Callable[[Any], Mapper] | None = None  # given the application
    auth: bool = True
    body_limit: Callable[[Settings], RouteLimit] | None = None
    health: Callable[[S], Awaitable[dict[str, object]]] | None = None
    openapi: bool = True  # False: no contract of its own (the gateway publishes the merged one)
    pages: bool = False  # body-limit refusals outside /api/ are pages, for a person at a browser
    # The service's own middleware, exception handlers and mounts, added after its routers
    # (middleware added later runs outside middleware added earlier).
    extend: Callable[[FastAPI, Settings], None] | None = None


def create_service_app(service: Service[S], settings: Settings) -> FastAPI:
    """The service's FastAPI app, its parts started in the lifespan and stopped after it."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with running(service, settings) as (runtime, state):
            app.state.runtime = runtime
            app.state.service = state
            app.state.settings = settings
            app.state.auth = runtime.auth
            app.state.dependencies = dependencies(
                store=runtime.store, events=runtime.events, transport=runtime.transport, **runtime.probes
            )
            yield

    limit = service.body_limit(settings) if service.body_limit else None
    app = service_app(
        service.name,
        settings,
        lifespan,
        body_limit=limit,
        openapi_url="/api/v1/openapi.json" if service.openapi else None,
        pages=service.pages,
    )
    for router in service.routers:
        add_routes(app, router)

    async def details() -> dict[str, object]:
        runtime: Runtime = app.state.runtime
        found: dict[str, object] = {}
        if runtime.relay is not None:
            found.update(
                relay_position=runtime.relay.position,
                relay_unmapped=runtime.relay.unmapped,
                relay_leader=runtime.relay.leading,
            )
        found["leading"] = runtime.leader.leading  # what this replica runs for the service
        # Events its consumers parked (shared/deadletters.py): an operator has work to do.
        found["dead_letters"] = sum(runner.dead_letters for runner in runtime.consumers())
        if service.health is not None:
            found.update(await service.health(app.state.service))
        return found

    add_health(app, service.name, details)
    if service.extend is not None:
        service.extend(app, settings)
    # Outermost: every answer counted, and /metrics answered before the gateway's edge — but
    # not on the public entry (the gateway's port in ``lk run``; on the stack nginx's).
    public = settings.embedded and service.name == "gateway"
    app.add_middleware(RequestMetrics, service=service.name, settings=settings, public=public)
    return app


@asynccontextmanager
async def running(service: Service[S], settings: Settings) -> AsyncIterator[tuple[Runtime, S]]:
    """Start the service's parts in order; stop them in reverse, whatever happens."""
    events = await construct(service.application, settings) if service.application else None
    store = build_readstore(settings, service.name)
    await store.open()
    transport = build_transport(settings)
    await transport.start()
    leader = Leader(None if settings.embedded else settings.postgres_dsn, group=service.name)
    runtime = Runtime(service.name, settings, store, transport, Workers(), leader, events=events)
    try:
        if events is not None and service.mapper is not None:
            runtime.relay = Relay(
                name=service.name,
                app=events,
                mapper=service.mapper(events),
                transport=transport,
                topic=settings.topic(service.name),
                store=store,
                batch_size=settings.batch_size,
                poll_interval=settings.poll_interval,
                idle_poll_max=settings.idle_poll_max,
                fallback_poll=settings.fallback_poll,
                listen_dsn=None if settings.embedded else settings.postgres_dsn,
                leader=leader,
            )
            events.on_saved = runtime.relay.wake
            runtime.start("relay", runtime.relay.run)
        if service.auth:
            runtime.auth = start_auth(settings, service.name, store, transport, runtime.workers)
        state = await service.build(runtime)
        for runner in runtime.runners:
            await runner.setup()
            runtime.start(runner.projection.name.split(".", 1)[-1], runner.run)
        for step in runtime.starting:
            await step()
        watch(runtime)
        yield runtime, state
    finally:
        unwatch(runtime)
        for step in runtime.stopping:
            await step()
        await runtime.workers.stop()
        await leader.close()  # its connection's end gives back every lock
        # A cancelled worker's to_thread() call may still be running (a relay append, a
        # poll): let it finish before its connection is closed under it.
        await asyncio.sleep(0.05)
        for step in reversed(runtime.closing):
            await step()
        await transport.stop()
        await store.close()
        if events is not None:
            events.close()


def state_in(conn: HTTPConnection, kind: type[S]) -> S:
    """The service's typed state, from a request or a WebSocket of its app."""
    found = conn.app.state.service
    if not isinstance(found, kind):
        raise TypeError(f"this app's state is {type(found).__name__}, not {kind.__name__}")
    return found


def state_of(kind: type[S]) -> Callable[[HTTPConnection], Awaitable[S]]:
    """A FastAPI dependency giving the service's typed state (HTTP and WebSocket alike):
    ``Annotated[IdentityState, Depends(state_of(IdentityState))]``. A coroutine, so FastAPI
    calls it on the loop (a plain function costs a worker-thread hop per request)."""

    async def get(conn: HTTPConnection) -> S:
        return state_in(conn, kind)

    return get


def events_of(runtime: Runtime, kind: type[A]) -> A:
    """The runtime's eventsourcing application, as its service's own class."""
    if not isinstance(runtime.events, kind):
        raise TypeError(f"the service's application is not a {kind.__name__}")
    return runtime.events
