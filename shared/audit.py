"""``lk ops audit-application <id>``: everything that happened to one application — its own
events, its chat thread's and those of the files it names — with who, when and from where,
read from the services' event stores.

Each aggregate's events are one stream of its service's event store, read by its id (the
store's primary key: originator id, version), never by scanning the notification log; so
the audit costs a few index look-ups however many events the stores hold. The chat thread's
id is the application's; the files are those the application's events name (``file_id``
anywhere in them). "From where" is what the events record: identity's and files' carry an
``audit`` (address and user agent of the request); the applications' and chat's record the
actor (id, side, name) and the moment, not the address.

The kernel names the services, never imports them: the stored events' topics name their
classes, which the library loads (as it does in every service)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import typer
from eventsourcing.domain import DomainEvent

from shared.application import ServiceApplication
from shared.settings import Settings

Entry = dict[str, Any]
ACTOR = ("actor_id", "author_id", "reader_id")  # who, by the events' own field names
ROLE = ("actor_role", "role")
NAME = ("actor_name", "author_name")


def store_of(settings: Settings, service: str) -> ServiceApplication:
    """A read-only handle on ``service``'s event store (no relay, no cache)."""
    kind = type(f"{service.title()}Store", (ServiceApplication,), {"name": service})
    # One connection, no tables made (reading only): the handle opens in milliseconds.
    env = {
        "AGGREGATE_CACHE_MAXSIZE": "",
        "POSTGRES_POOL_SIZE": "1",
        "POSTGRES_MAX_OVERFLOW": "0",
        "CREATE_TABLE": "n",
    }
    store: ServiceApplication = kind(settings, env)
    return store


def _first(event: DomainEvent, names: tuple[str, ...]) -> str:
    for name in names:
        value = getattr(event, name, None)
        if value:
            return str(value)
    return ""


def _file_ids(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "file_id" and isinstance(item, str) and item:
                yield item
            else:
                yield from _file_ids(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _file_ids(item)


def entry_of(service: str, event: DomainEvent) -> Entry:
    """One line of the audit: what, when, who (id, side, name) and from where (if recorded)."""
    audit: dict[str, str] = getattr(event, "audit", None) or {}
    created = event.originator_version == 1
    actor = _first(event, ACTOR) or audit.get("actor", "")
    role = _first(event, ROLE)
    if not actor and created:  # the applicant filed it, the owner uploaded it
        actor = str(getattr(event, "applicant_id", "") or getattr(event, "owner_id", ""))
        role = role or ("consumer" if getattr(event, "applicant_id", "") else "")
    name = _first(event, NAME) or (str(getattr(event, "applicant_name", "")) if created else "")
    return {
        "at": event.timestamp.isoformat(),
        "service": service,
        "aggregate": str(event.originator_id),
        "version": event.originator_version,
        "type": type(event).__qualname__,
        "actor": actor or "system",
        "role": role,
        "name": name,
        "ip": audit.get("ip", ""),
        "user_agent": audit.get("user_agent", ""),
    }


def stream(store: ServiceApplication, aggregate_id: uuid.UUID) -> list[DomainEvent]:
    """Every event of one aggregate, oldest first (snapshots are kept apart by the library)."""
    return [e for e in store.repository.event_store.get(aggregate_id) if isinstance(e, DomainEvent)]


def application_trail(settings: Settings, application_id: uuid.UUID) -> list[Entry]:
    """The application's events, its thread's and its files', in the order they happened;
    empty if there is no such application."""
    entries: list[Entry] = []
    applications = store_of(settings, "applications")
    try:
        own = stream(applications, application_id)
    finally:
        applications.close()
    if not own:
        return []
    entries.extend(entry_of("applications", e) for e in own)
    files = sorted({f for e in own for f in _file_ids(vars(e)) if f})
    chat = store_of(settings, "chat")
    try:
        entries.extend(entry_of("chat", e) for e in stream(chat, application_id))
    finally:
        chat.close()
    if files:
        store = store_of(settings, "files")
        try:
            for file_id in files:
                try:
                    key = uuid.UUID(file_id)
                except ValueError:
                    continue
                entries.extend(entry_of("files", e) for e in stream(store, key))
        finally:
            store.close()
    entries.sort(key=lambda e: (e["at"], e["service"], e["version"]))
    return entries


def audit_application(application_id: str = typer.Argument(..., help="id заявки")) -> None:
    """Кто, когда и откуда действовал по заявке: события заявки, её переписки и её файлов из
    хранилищ событий сервисов, по порядку (строки JSON)."""
    try:
        key = uuid.UUID(application_id)
    except ValueError:
        typer.echo("Ошибка: это не id заявки.", err=True)
        raise typer.Exit(2) from None
    started = time.perf_counter()
    entries = application_trail(Settings(), key)
    if not entries:
        typer.echo("Заявка не найдена.", err=True)
        raise typer.Exit(1)
    for entry in entries:
        typer.echo(json.dumps(entry, ensure_ascii=False))
    typer.echo(f"Событий: {len(entries)}, за {time.perf_counter() - started:.3f} с.", err=True)
