"""Chat's read side: what the chat must know of other services, from their public events.

- applications (applications.events): which application belongs to whom, its number —
  so a consumer opens only their own applications' chats;
- accounts (identity.events): names shown next to messages;
- files (files.events): who uploaded which file, so only your own files can be attached.

Rebuildable from the beginning of the three topics. The messages themselves are read
from chat's own event store (the Thread aggregate), never from a lagging projection.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from shared.consumer import Projection
from shared.events import (
    AccountRegisteredV1,
    ApplicationSubmittedV1,
    Envelope,
    FileUploadedV1,
    ProfileUpdatedV1,
)
from shared.readstore import ReadStore, Tx

REFERENCES_DDL = (
    "CREATE TABLE IF NOT EXISTS chat_applications (application_id TEXT PRIMARY KEY,"
    " applicant_id TEXT NOT NULL, number TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS chat_accounts (account_id TEXT PRIMARY KEY, login TEXT NOT NULL,"
    " email TEXT NOT NULL, display_name TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS chat_files (file_id TEXT PRIMARY KEY, owner_id TEXT NOT NULL,"
    " name TEXT NOT NULL, size BIGINT NOT NULL, content_type TEXT NOT NULL)",
)


class References(Projection):
    name = "chat.references"
    ddl = REFERENCES_DDL

    def __init__(
        self,
        applications_topic: str,
        identity_topic: str,
        files_topic: str,
        on_renamed: Callable[[str], None] = lambda account_id: None,
    ) -> None:
        self.topics = (applications_topic, identity_topic, files_topic)
        self.on_renamed = on_renamed

    async def handle(self, tx: Tx, event: Envelope) -> None:
        payload = event.parse()
        if isinstance(payload, ApplicationSubmittedV1):
            await tx.execute(
                "INSERT INTO chat_applications (application_id, applicant_id, number) VALUES ($1, $2, $3)"
                " ON CONFLICT (application_id) DO NOTHING",
                payload.application_id,
                payload.applicant_id,
                payload.number,
            )
        elif isinstance(payload, AccountRegisteredV1):
            await tx.execute(
                "INSERT INTO chat_accounts (account_id, login, email, display_name) VALUES ($1, $2, $3, $2)"
                " ON CONFLICT (account_id) DO NOTHING",
                payload.account_id,
                payload.login,
                payload.email,
            )
        elif isinstance(payload, ProfileUpdatedV1):
            await tx.execute(
                "UPDATE chat_accounts SET display_name = $2 WHERE account_id = $1",
                payload.account_id,
                payload.display_name or "",
            )
            self.on_renamed(payload.account_id)
        elif isinstance(payload, FileUploadedV1):
            await tx.execute(
                "INSERT INTO chat_files (file_id, owner_id, name, size, content_type)"
                " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (file_id) DO NOTHING",
                payload.file_id,
                payload.owner_id,
                payload.name,
                payload.size,
                payload.content_type,
            )


T = TypeVar("T")


class Directory:
    """The hot path's memo of these rows: who owns an application (never changes, kept for
    good) and account names (kept a minute).

    A row not there yet is waited for, up to ``patience`` seconds: an application filed a
    few milliseconds ago may still be on its way to this projection. The wait wakes up when
    the references runner applies a batch (:meth:`progressed`, its ``on_applied``), so the
    owner of a just-filed application gets in as soon as its row lands. A caller who may not
    open what is there waits exactly as for what is not there — the whole ``patience``,
    looking the row up after every batch — and gets the same None: the time of a 404 tells
    nothing about whether the application exists.
    """

    NAME_TTL = 60.0
    PATIENCE = 3.0
    NAME_PATIENCE = 1.0

    def __init__(
        self, store: ReadStore, patience: float = PATIENCE, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.store = store
        self.patience = patience
        self.clock = clock
        self._applications: dict[str, tuple[str, str]] = {}
        self._names: dict[str, tuple[str, float]] = {}
        self._progress = asyncio.Event()

    def progressed(self) -> None:
        """The references runner committed a batch: wake everyone waiting for a row."""
        self._progress.set()
        self._progress = asyncio.Event()

    async def _wait_for(
        self, fetch: Callable[[], Awaitable[T | None]], accept: Callable[[T], bool], patience: float
    ) -> T | None:
        """``fetch()`` once, then again after every batch, until it gives a row that ``accept``
        takes (returned at once) or ``patience`` has passed (None)."""
        deadline = self.clock() + patience
        while True:
            progress = self._progress  # taken before the look-up: a batch during it wakes us
            row = await fetch()
            if row is not None and accept(row):
                return row
            remaining = deadline - self.clock()
            if remaining <= 0:
                return None
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await progress.wait()

    async def application(
        self, application_id: str, may_open: Callable[[tuple[str, str]], bool]
    ) -> tuple[str, str] | None:
        """(applicant id, number) if the application is known and ``may_open`` it; None
        otherwise, after the same wait whether it is unknown or not to be opened."""
        known = self._applications.get(application_id)
        if known is not None and may_open(known):
            return known

        async def fetch() -> tuple[str, str] | None:
            row = await self.store.fetchrow(
                "SELECT applicant_id, number FROM chat_applications WHERE application_id = $1", application_id
            )
            if row is None:
                return None
            found = self._applications[application_id] = (row["applicant_id"], row["number"])
            return found

        return await self._wait_for(fetch, may_open, self.patience)

    async def files(self, owner_id: str, file_ids: list[str]) -> list[dict[str, Any]] | None:
        """Metadata of ``file_ids`` if ``owner_id`` uploaded every one; None otherwise, after
        the same wait whether a file is unknown or someone else's."""

        async def fetch() -> list[dict[str, Any]] | None:
            found, missing = [], False
            for file_id in file_ids:  # every one looked up, whatever the first ones were
                row = await self.store.fetchrow(
                    "SELECT owner_id, name, size, content_type FROM chat_files WHERE file_id = $1", file_id
                )
                if row is None:
                    missing = True  # maybe uploaded a moment ago
                else:
                    found.append({"id": file_id, **row, "size": int(row["size"])})
            return None if missing else found

        def all_mine(rows: list[dict[str, Any]]) -> bool:
            return all(r["owner_id"] == owner_id for r in rows)

        rows = await self._wait_for(fetch, all_mine, self.patience)
        if rows is None:
            return None
        return [{k: r[k] for k in ("id", "name", "size", "content_type")} for r in rows]

    def forget(self, account_id: str) -> None:
        """A name changed: read it again next time."""
        self._names.pop(account_id, None)

    async def name(self, account_id: str) -> str:
        known = self._names.get(account_id)
        now = self.clock()
        if known is not None and now - known[1] < self.NAME_TTL:
            return known[0]

        async def fetch() -> dict[str, Any] | None:
            return await self.store.fetchrow(
                "SELECT login, display_name FROM chat_accounts WHERE account_id = $1", account_id
            )

        row = await self._wait_for(fetch, lambda _: True, self.NAME_PATIENCE)
        if row is None:
            return known[0] if known else ""
        name = str(row["display_name"] or row["login"])
        self._names[account_id] = (name, now)
        return name
