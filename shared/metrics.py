"""Prometheus figures of every service (``prometheus_client``), at ``GET /metrics`` on the
service's own port — never through the public entry (see :class:`RequestMetrics`).

One registry per process: prometheus_client's default one (with its process and Python
collectors). Every series is labelled with its ``service``; in ``lk run`` (every service in
one process) each service's ``/metrics`` shows the whole process, each series once.

- requests: ``lk_http_requests_total{service,method,route,status}`` and the latency histogram
  ``lk_http_request_duration_seconds{service,method,route}``, by route template (never the
  raw path: the number of series stays bounded) — :class:`RequestMetrics`;
- read side: ``lk_consumer_lag{service,consumer,topic,partition}``, ``lk_dead_letters``,
  ``lk_dead_letters_parked_total``; write side: ``lk_relay_backlog{service}``;
- what a service adds of its own (:meth:`shared.service.Runtime.measure`): the notifier's
  outbox depth and mail failures, the chat's open sockets.

The figures that need a look at a store or the broker (lag, backlog, a service's own) are
taken when ``/metrics`` is asked, bounded in time; ``/health`` never takes them.
"""

from __future__ import annotations

import asyncio
import hmac
import inspect
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.edge import EDGE_HEADER, edge_key
from shared.lag import ConsumerLag, consumer_lags
from shared.settings import Settings

if TYPE_CHECKING:
    from shared.service import Runtime

log = structlog.get_logger(__name__)

REFRESH_TIMEOUT = 3.0  # longest a scrape waits for the broker and the stores
METRICS_PATH = "/metrics"
_METRICS_ROUTE = Route(METRICS_PATH, lambda _request: Response())  # its label: the route template

REQUESTS = Counter(
    "lk_http_requests",
    "HTTP requests answered, by route template and status",
    ("service", "method", "route", "status"),
)
LATENCY = Histogram(
    "lk_http_request_duration_seconds", "Time to answer an HTTP request", ("service", "method", "route")
)

Read = Callable[[], Awaitable[float] | float]


@dataclass(frozen=True)
class Measure:
    """A figure of the service's own, read at each scrape."""

    name: str
    help: str
    read: Read
    counter: bool = False


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None) or getattr(route, "path_format", None)
    if isinstance(path, str):
        return path
    # No route of this app matched: the gateway's in-process dispatch to a service (which
    # counts it under its own template), or a 404. One label for all, not the raw path.
    return "/api/v1/*" if str(scope.get("path", "")).startswith("/api/") else "(other)"


class RequestMetrics:
    """Counts every HTTP answer and its time, by the route template that matched; and answers
    ``GET /metrics`` itself, before the app (and the gateway's edge, which marks every request
    it passes on as the edge's) sees it.

    ``/metrics`` is served only on the service's own port: not where that port is the public
    entry (``public``: the gateway of ``lk run``), and not to a request the edge forwarded
    (nginx's proof of shared/edge.py, as it arrived): those go on to the app, which has no such
    route (404)."""

    def __init__(self, app: ASGIApp, service: str, settings: Settings, public: bool = False) -> None:
        self.app = app
        self.service = service
        self.settings = settings
        self.serve = not public
        # (method, route, status) → its counter and histogram: the library's label look-up
        # costs more than the counting itself, and the keys are bounded (route templates).
        self._children: dict[tuple[str, str, str], tuple[Any, Any]] = {}

    def _ours(self, scope: Scope) -> bool:
        if not self.serve or scope["path"] != METRICS_PATH or scope["method"] not in ("GET", "HEAD"):
            return False
        proof = edge_key(self.settings.secret()).encode()
        claimed = [v for k, v in scope.get("headers", ()) if k == EDGE_HEADER.encode()]
        return not any(hmac.compare_digest(v, proof) for v in claimed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers if the app raises before its answer

        async def tracked(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            if self._ours(scope):
                scope["route"] = _METRICS_ROUTE
                await refresh()
                answer = Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
                await answer(scope, receive, tracked)
            else:
                await self.app(scope, receive, tracked)
        finally:
            key = (str(scope["method"]), _route_of(scope), str(status))
            children = self._children.get(key)
            if children is None:
                children = self._children[key] = (
                    REQUESTS.labels(self.service, *key),
                    LATENCY.labels(self.service, key[0], key[1]),
                )
            children[0].inc()
            children[1].observe(time.perf_counter() - started)


@dataclass
class Snapshot:
    """What the last scrape read of one running service."""

    lags: list[ConsumerLag] = field(default_factory=list)
    backlog: int | None = None
    own: dict[str, float] = field(default_factory=dict)


@dataclass
class _Source:
    runtime: Runtime
    snapshot: Snapshot = field(default_factory=Snapshot)


_sources: dict[int, _Source] = {}  # the services running in this process


def watch(runtime: Runtime) -> None:
    """Count ``runtime``'s figures in this process's registry (until :func:`unwatch`)."""
    _sources[id(runtime)] = _Source(runtime)


def unwatch(runtime: Runtime) -> None:
    _sources.pop(id(runtime), None)


async def _read(measure: Measure) -> float:
    value = measure.read()
    if inspect.isawaitable(value):
        value = await value
    return float(value)


async def _refresh(source: _Source) -> None:
    runtime = source.runtime
    snapshot = Snapshot()
    # A replica counts what it runs: the partitions its consumers apply (shared/leader.py; the
    # others are another replica's), the relay if it leads (a follower's publishes nothing).
    runners = [runner for runner in runtime.consumers() if getattr(runner, "leading", True)]
    wanted = sorted({topic for runner in runners for topic in runner.projection.topics})
    try:
        ends = await runtime.transport.end_offsets(wanted) if wanted else {}
        for runner in runners:
            name = runner.projection.name
            mine = {key: end for key, end in ends.items() if runner.owns(key[1])}
            offsets = {key: at for key, at in runner.next_offsets.items() if runner.owns(key[1])}
            snapshot.lags.extend(consumer_lags(runtime.name, name, runner.projection.topics, offsets, mine))
    except Exception as exc:  # noqa: BLE001 - the broker down: no lag this time, said in the log
        log.warning("metrics.lag_unavailable", service=runtime.name, error=str(exc))
    relay = runtime.relay
    if relay is not None and relay.leading:
        try:
            last = await asyncio.to_thread(relay.app.recorder.max_notification_id)  # type: ignore[attr-defined]
            snapshot.backlog = max(0, int(last or 0) - relay.position)
        except Exception as exc:  # noqa: BLE001 - the event store down: no backlog this time
            log.warning("metrics.backlog_unavailable", service=runtime.name, error=str(exc))
    for measure in runtime.measures:
        try:
            snapshot.own[measure.name] = await _read(measure)
        except Exception as exc:  # noqa: BLE001 - one figure missing, the others shown
            log.warning(
                "metrics.measure_unavailable", service=runtime.name, measure=measure.name, error=str(exc)
            )
    source.snapshot = snapshot


async def refresh() -> None:
    """Read every running service's figures now (each bounded in time)."""

    async def bounded(source: _Source) -> None:
        try:
            await asyncio.wait_for(_refresh(source), REFRESH_TIMEOUT)
        except TimeoutError:
            log.warning("metrics.refresh_timeout", service=source.runtime.name)

    await asyncio.gather(*(bounded(s) for s in list(_sources.values())))


class _Figures(Collector):
    """The services' figures, as the last refresh read them (and the counts kept in memory)."""

    def describe(self) -> Iterable[Metric]:
        return []  # nothing fixed to check at registration: the families come and go with services

    def collect(self) -> Iterator[Metric]:
        sources = list(_sources.values())
        lag = GaugeMetricFamily(
            "lk_consumer_lag",
            "Records of a topic's partition the consumer has not applied yet (end offset minus its position)",
            labels=("service", "consumer", "topic", "partition"),
        )
        backlog = GaugeMetricFamily(
            "lk_relay_backlog",
            "Events committed to the service's event store and not yet published by its relay",
            labels=("service",),
        )
        dead = GaugeMetricFamily(
            "lk_dead_letters",
            "Events parked by a consumer and not yet retried or skipped",
            labels=("service", "consumer"),
        )
        parked = CounterMetricFamily(
            "lk_dead_letters_parked",
            "Events parked by a consumer since the process started",
            labels=("service", "consumer"),
        )
        own: dict[str, Metric] = {}
        for source in sources:
            runtime, snapshot = source.runtime, source.snapshot
            for row in snapshot.lags:
                lag.add_metric([row.service, row.consumer, row.topic, str(row.partition)], row.lag)
            if snapshot.backlog is not None:
                backlog.add_metric([runtime.name], snapshot.backlog)
            for runner in runtime.consumers():
                dead.add_metric([runtime.name, runner.projection.name], runner.dead_letters)
                parked.add_metric([runtime.name, runner.projection.name], runner.parked_total)
            for measure in runtime.measures:
                if measure.name not in snapshot.own:
                    continue
                family = own.get(measure.name)
                if family is None:
                    kind = CounterMetricFamily if measure.counter else GaugeMetricFamily
                    family = own[measure.name] = kind(measure.name, measure.help, labels=("service",))
                family.add_metric([runtime.name], snapshot.own[measure.name])  # type: ignore[attr-defined]
        yield from (lag, backlog, dead, parked, *own.values())


REGISTRY.register(_Figures())  # once per process: this module is imported once


def families(text: str) -> set[str]:
    """The metric family names of an exposition (for tests and checks)."""
    found: set[str] = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            found.add(line.split()[2])
    return found
