"""Domain events → public events, dispatched by type.

A service declares, per domain event class, the function that makes its public event, and
which domain events stay internal. A domain event that is neither is an error the relay
logs and counts (it never vanishes silently, as a renamed class once made it do); a test
per service checks that every domain event class of its aggregates is declared.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from eventsourcing.domain import Aggregate, DomainEvent

from shared.events import PublicEvent

E = TypeVar("E")
Make = Callable[[Any], PublicEvent | None]


class UnmappedEvent(LookupError):
    """A domain event of a class the service declared neither public nor internal."""


class EventMap:
    """The declared mapping of one service."""

    def __init__(self) -> None:
        self._make: dict[type, Make] = {}
        self._internal: set[type] = set()
        self.publishes: set[type[PublicEvent]] = set()

    def public(
        self, *kinds: type, to: type[PublicEvent]
    ) -> Callable[[Callable[[E], PublicEvent | None]], Callable[[E], PublicEvent | None]]:
        """Decorator: the function makes the public event ``to`` of these domain events."""

        def register(make: Callable[[E], PublicEvent | None]) -> Callable[[E], PublicEvent | None]:
            for kind in kinds:
                self._make[kind] = make
            self.publishes.add(to)
            return make

        return register

    def internal(self, *kinds: type) -> None:
        """These domain events never leave the service."""
        self._internal.update(kinds)

    @property
    def declared(self) -> set[type]:
        return set(self._make) | self._internal

    def __call__(self, event: object) -> PublicEvent | None:
        make = self._make.get(type(event))
        if make is not None:
            return make(event)
        if type(event) in self._internal:
            return None
        raise UnmappedEvent(type(event).__qualname__)


def domain_events(*aggregates: type[Aggregate]) -> set[type]:
    """Every event class the aggregates record (what a service's map must cover): not the
    ``Event`` base, nor the default ``Created`` where a named creation event replaces it."""
    found: set[type] = set()
    for aggregate in aggregates:
        kinds = [
            v
            for name, v in vars(aggregate).items()
            if isinstance(v, type) and issubclass(v, DomainEvent) and name != "Event"
        ]
        named = [k for k in kinds if issubclass(k, Aggregate.Created) and k.__name__ != "Created"]
        found.update(k for k in kinds if not (named and k.__name__ == "Created"))
    return found
