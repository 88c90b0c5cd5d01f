"""The base of every service's eventsourcing Application: its event store from the settings,
one ``commit`` that saves and wakes the relay, and the repository look-ups every service
writes the same way."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate

from shared import schemas
from shared.settings import Settings

A = TypeVar("A", bound=Aggregate)


class ServiceApplication(Application[uuid.UUID]):
    """An event-sourced service's command side (synchronous: called from worker threads).

    ``store_env`` adds the service's own eventsourcing settings (cache sizes …); the name of
    the class attribute ``name`` is the service's, and so the folder of its event store."""

    store_env: ClassVar[dict[str, str]] = {"AGGREGATE_CACHE_MAXSIZE": "5000"}

    def __init__(self, settings: Settings, env: dict[str, str] | None = None) -> None:
        merged = {**settings.eventstore_env(self.name), **self.store_env, **(env or {})}
        if merged.get("PERSISTENCE_MODULE") == "eventsourcing.postgres":
            # Its schema must be there (and what was its own in public moved) before the
            # library creates its table in it.
            schemas.prepare(settings.postgres_dsn, self.name)
        super().__init__(merged)
        self.settings = settings
        self.on_saved: Callable[[], None] = lambda: None  # the runtime sets: wake the relay
        # Its store is a local SQLite file: short commands run on the loop (runtime.command).
        self.inline_commands = merged.get("PERSISTENCE_MODULE") == "eventsourcing.sqlite"

    def commit(self, *aggregates: Any) -> int:
        """Save atomically and wake the relay; the last notification id written."""
        recordings = self.save(*aggregates)
        self.on_saved()
        return max((r.notification.id for r in recordings), default=0)

    def find(self, aggregate_id: uuid.UUID, kind: type[A], *, copy: bool = True) -> A | None:
        """The aggregate of that id if it is a ``kind``; None otherwise. ``copy=False`` reads
        the cached instance itself (a query that changes nothing; cheaper for long histories)."""
        try:
            found: Any = self.repository.get(aggregate_id, deepcopy_from_cache=copy)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, kind) else None
