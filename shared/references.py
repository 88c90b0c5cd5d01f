"""What a service must know of the others, from their public events, in one parameterised
projection: accounts (identity.events), files (files.events), applications
(applications.events). Tables are ``<service>_ref_<kind>``; the projection is
``<service>.refs`` (its topics are declared in shared/topology.py).

:class:`Lookup` reads a row, and when it is not there yet waits — exactly, for that one
aggregate's first event, never by polling — for the row of something created a moment ago
(an account just registered, a file just uploaded, an application just filed).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from typing import Literal

from shared.consumer import ConsumerRunner, Projection
from shared.events import (
    AccountRegisteredV1,
    ApplicationSubmittedV1,
    Envelope,
    FileDeletedV1,
    FileUploadedV1,
    ProfileUpdatedV1,
)
from shared.readstore import ReadStore, Row, Tx

Kind = Literal["accounts", "files", "applications"]
SOURCE: dict[Kind, str] = {"accounts": "identity", "files": "files", "applications": "applications"}
KEY: dict[Kind, str] = {"accounts": "account_id", "files": "file_id", "applications": "application_id"}
_COLUMNS: dict[Kind, str] = {
    "accounts": "account_id TEXT PRIMARY KEY, login TEXT NOT NULL, email TEXT NOT NULL, display_name TEXT NOT NULL",
    "files": "file_id TEXT PRIMARY KEY, owner_id TEXT NOT NULL, name TEXT NOT NULL, size BIGINT NOT NULL,"
    " content_type TEXT NOT NULL, deleted BOOLEAN NOT NULL DEFAULT FALSE",
    "applications": "application_id TEXT PRIMARY KEY, applicant_id TEXT NOT NULL, number TEXT NOT NULL",
}


def table(service: str, kind: Kind) -> str:
    return f"{service}_ref_{kind}"


class References(Projection):
    """The rows of ``kinds`` a service keeps; rebuildable from the beginning of the topics."""

    def __init__(
        self,
        service: str,
        kinds: Sequence[Kind],
        on_renamed: Callable[[str], None] = lambda account_id: None,
    ) -> None:
        self.name = f"{service}.refs"
        self.service = service
        self.kinds = tuple(kinds)
        self.on_renamed = on_renamed
        self.ddl = tuple(
            f"CREATE TABLE IF NOT EXISTS {table(service, k)} ({_COLUMNS[k]})" for k in self.kinds
        )

    def sources(self) -> tuple[str, ...]:
        """The services whose topics this projection reads (what the topology declares)."""
        return tuple(sorted({SOURCE[k] for k in self.kinds}))

    async def handle(self, tx: Tx, event: Envelope) -> None:
        payload = event.parse()
        if isinstance(payload, AccountRegisteredV1) and "accounts" in self.kinds:
            await tx.execute(
                f"INSERT INTO {table(self.service, 'accounts')} (account_id, login, email, display_name)"  # noqa: S608
                " VALUES ($1, $2, $3, $2) ON CONFLICT (account_id) DO NOTHING",
                payload.account_id,
                payload.login,
                payload.email,
            )
        elif isinstance(payload, ProfileUpdatedV1) and "accounts" in self.kinds:
            await tx.execute(
                f"UPDATE {table(self.service, 'accounts')} SET display_name = $2 WHERE account_id = $1",  # noqa: S608
                payload.account_id,
                payload.display_name,
            )
            self.on_renamed(payload.account_id)
        elif isinstance(payload, FileUploadedV1) and "files" in self.kinds:
            await tx.execute(
                f"INSERT INTO {table(self.service, 'files')} (file_id, owner_id, name, size, content_type)"  # noqa: S608
                " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (file_id) DO NOTHING",
                payload.file_id,
                payload.owner_id,
                payload.name,
                payload.size,
                payload.content_type,
            )
        elif isinstance(payload, FileDeletedV1) and "files" in self.kinds:
            await tx.execute(
                f"UPDATE {table(self.service, 'files')} SET deleted = TRUE WHERE file_id = $1",  # noqa: S608
                payload.file_id,
            )
        elif isinstance(payload, ApplicationSubmittedV1) and "applications" in self.kinds:
            await tx.execute(
                f"INSERT INTO {table(self.service, 'applications')} (application_id, applicant_id, number)"  # noqa: S608
                " VALUES ($1, $2, $3) ON CONFLICT (application_id) DO NOTHING",
                payload.application_id,
                payload.applicant_id,
                payload.number,
            )


class Lookup:
    """Rows of a :class:`References` projection, waiting exactly for just-created ones."""

    def __init__(self, store: ReadStore, runner: ConsumerRunner, service: str, timeout: float = 3.0) -> None:
        self.store = store
        self.runner = runner
        self.service = service
        self.timeout = timeout

    async def row(self, kind: Kind, key: str, *, wait: bool = True) -> Row | None:
        """The row of ``key``; if absent, waits (bounded) for that aggregate's first event."""
        found = await self._fetch(kind, key)
        if found is None and wait:
            await self.runner.wait_for_subject(SOURCE[kind], key, 1, self.timeout)
            found = await self._fetch(kind, key)
        return found

    async def rows(self, kind: Kind, keys: Iterable[str]) -> dict[str, Row]:
        """The rows of ``keys`` by key, in one query; those absent are waited for as in
        :meth:`row` (all at once) and asked again together. A key with no row is left out."""
        wanted = sorted(set(keys))
        found = await self._fetch_many(kind, wanted)
        missing = [k for k in wanted if k not in found]
        if missing:
            await asyncio.gather(
                *(self.runner.wait_for_subject(SOURCE[kind], k, 1, self.timeout) for k in missing)
            )
            found.update(await self._fetch_many(kind, missing))
        return found

    async def _fetch_many(self, kind: Kind, keys: Sequence[str]) -> dict[str, Row]:
        if not keys:
            return {}
        marks = ", ".join(f"${i}" for i in range(1, len(keys) + 1))
        rows = await self.store.lookup(
            f"SELECT * FROM {table(self.service, kind)} WHERE {KEY[kind]} IN ({marks})",  # noqa: S608 - names are ours
            *keys,
        )
        return {r[KEY[kind]]: r for r in rows}

    async def _fetch(self, kind: Kind, key: str) -> Row | None:
        rows = await self.store.lookup(
            f"SELECT * FROM {table(self.service, kind)} WHERE {KEY[kind]} = $1",  # noqa: S608 - names are ours
            key,
        )
        return rows[0] if rows else None
