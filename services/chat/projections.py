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
import time
from collections.abc import Callable

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


class Directory:
    """The hot path's memo of these rows: who owns an application (never changes, kept for
    good) and account names (kept a minute). A row not there yet is waited for a moment —
    an application filed a few milliseconds ago may still be on its way to this projection."""

    NAME_TTL = 60.0

    def __init__(
        self, store: ReadStore, step: float = 0.05, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.store = store
        self.step = step
        self.clock = clock
        self._applications: dict[str, tuple[str, str]] = {}
        self._names: dict[str, tuple[str, float]] = {}

    async def application(self, application_id: str, waits: int = 60) -> tuple[str, str] | None:
        """(applicant id, number), or None if the application is unknown."""
        known = self._applications.get(application_id)
        if known is not None:
            return known
        for attempt in range(waits):
            row = await self.store.fetchrow(
                "SELECT applicant_id, number FROM chat_applications WHERE application_id = $1", application_id
            )
            if row is not None:
                known = self._applications[application_id] = (row["applicant_id"], row["number"])
                return known
            if attempt < waits - 1:
                await asyncio.sleep(self.step)
        return None

    def forget(self, account_id: str) -> None:
        """A name changed: read it again next time."""
        self._names.pop(account_id, None)

    async def name(self, account_id: str, waits: int = 20) -> str:
        known = self._names.get(account_id)
        now = self.clock()
        if known is not None and now - known[1] < self.NAME_TTL:
            return known[0]
        row = None
        for attempt in range(waits):
            row = await self.store.fetchrow(
                "SELECT login, display_name FROM chat_accounts WHERE account_id = $1", account_id
            )
            if row is not None or attempt == waits - 1:
                break
            await asyncio.sleep(self.step)
        if row is None:
            return known[0] if known else ""
        name = str(row["display_name"] or row["login"])
        self._names[account_id] = (name, now)
        return name
