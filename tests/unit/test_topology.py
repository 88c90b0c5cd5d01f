"""The declared flows hold: every domain event class of a service is mapped to a public event
or declared internal (a rename can no longer make the relay drop it silently), each service
publishes exactly what shared/topology.py says, and every projection's topics are declared.

Convention: ``services/<name>/public.py`` has ``EVENTS`` (its EventMap) and
``services/<name>/domain.py`` has ``AGGREGATES`` (its aggregate classes)."""

from __future__ import annotations

from importlib import import_module

import pytest

from shared.idempotency import IdempotencyRecord
from shared.mapping import EventMap, domain_events
from shared.topology import CONSUMES, PUBLISHES

PUBLISHERS = sorted(PUBLISHES)


@pytest.mark.parametrize("service", PUBLISHERS)
def test_every_domain_event_is_mapped_or_internal(service: str) -> None:
    events: EventMap = import_module(f"services.{service}.public").EVENTS
    aggregates = import_module(f"services.{service}.domain").AGGREGATES
    recorded = domain_events(*aggregates, IdempotencyRecord)
    missing = sorted(k.__qualname__ for k in recorded - events.declared)
    assert missing == [], f"{service}: neither public nor internal: {missing}"


@pytest.mark.parametrize("service", PUBLISHERS)
def test_each_service_publishes_what_the_topology_declares(service: str) -> None:
    events: EventMap = import_module(f"services.{service}.public").EVENTS
    assert events.publishes == set(PUBLISHES[service])


def test_projections_read_only_services_that_exist() -> None:
    services = set(PUBLISHES)
    for projection, sources in CONSUMES.items():
        assert set(sources) <= services, projection
        assert projection.split(".")[0] in {*services, "gateway", "notifier"}, projection


def test_a_planted_unmapped_event_is_found() -> None:
    """The coverage check can fail: a new domain event nobody declared is reported."""
    from eventsourcing.domain import Aggregate, event

    class Planted(Aggregate):
        @event("Happened")
        def happen(self) -> None:
            pass

    assert {k.__qualname__ for k in domain_events(Planted) - EventMap().declared} == {
        "test_a_planted_unmapped_event_is_found.<locals>.Planted.Created",
        "test_a_planted_unmapped_event_is_found.<locals>.Planted.Happened",
    }
