"""Chat's read side: what the chat must know of other services, from their public events
(the shared reference rows of shared/references.py, ``chat_ref_<kind>``):

- applications (applications.events): which application belongs to whom, its number —
  so a consumer opens only their own applications' chats;
- accounts (identity.events): names shown next to messages;
- files (files.events): who uploaded which file, so only your own files can be attached.

Rebuildable from the beginning of the three topics (projection ``chat.refs``). The messages themselves are read
from chat's own event store (the Thread aggregate), never from a lagging projection.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from services.chat.domain import Attachment
from shared.readstore import ReadStore, Row
from shared.references import Kind, References, table

KINDS: tuple[Kind, ...] = ("applications", "accounts", "files")
APPLICATIONS, ACCOUNTS, FILES = (table("chat", kind) for kind in KINDS)


def references(on_renamed: Callable[[str], None]) -> References:
    """The projection of those rows (``chat.refs``; topics in shared/topology.py)."""
    return References("chat", KINDS, on_renamed=on_renamed)


T = TypeVar("T")


class Directory:
    """The hot path's memo of these rows: who owns an application (never changes, kept for
    good) and account names (kept a minute).

    A row not there yet is waited for, up to ``patience`` seconds: an application filed a
    few milliseconds ago may still be on its way to this projection. The wait looks the row
    up again when this process's references runner applies a batch (:meth:`progressed`, its
    ``on_applied``: the fast path) and every ``poll`` seconds besides, since the batch that
    brings the row may be another replica's (the one applying that stream, or its partition).
    A caller who may not open what is there waits exactly as for what is not there — the
    whole ``patience``, looking the row up as often — and gets the same None: the time of a
    404 tells nothing about whether the application exists.
    """

    NAME_TTL = 60.0
    PATIENCE = 3.0
    NAME_PATIENCE = 1.0
    POLL = 0.05  # as a follower's look at what its leader applied (shared/leader.py FOLLOW_POLL)

    def __init__(
        self,
        store: ReadStore,
        patience: float = PATIENCE,
        clock: Callable[[], float] = time.monotonic,
        poll: float = POLL,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.store = store
        self.patience = patience
        self.clock = clock
        self.poll = poll
        self.sleep = sleep  # on the clock's time
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
        """``fetch()`` once, then again after every batch of this process's runner and every
        ``poll`` seconds, until it gives a row that ``accept`` takes (returned at once) or
        ``patience`` has passed (None)."""
        deadline = self.clock() + patience
        while True:
            progress = self._progress  # taken before the look-up: a batch during it wakes us
            row = await fetch()
            if row is not None and accept(row):
                return row
            remaining = deadline - self.clock()
            if remaining <= 0:
                return None
            await self._pause(progress, min(remaining, self.poll))

    async def _pause(self, progress: asyncio.Event, seconds: float) -> None:
        """Until this process's runner applies a batch or ``seconds`` have passed."""
        batch = asyncio.ensure_future(progress.wait())
        timer = asyncio.ensure_future(self.sleep(seconds))
        try:
            await asyncio.wait((batch, timer), return_when=asyncio.FIRST_COMPLETED)
        finally:
            batch.cancel()
            timer.cancel()

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
                f"SELECT applicant_id, number FROM {APPLICATIONS} WHERE application_id = $1",  # noqa: S608
                application_id,
            )
            if row is None:
                return None
            found = self._applications[application_id] = (row["applicant_id"], row["number"])
            return found

        return await self._wait_for(fetch, may_open, self.patience)

    async def files(self, owner_id: str, file_ids: list[str]) -> list[Attachment] | None:
        """Metadata of ``file_ids`` if ``owner_id`` uploaded every one; None otherwise, after
        the same wait whether a file is unknown or someone else's."""

        async def fetch() -> list[tuple[str, Attachment]] | None:
            found, missing = [], False
            for file_id in file_ids:  # every one looked up, whatever the first ones were
                row = await self.store.fetchrow(
                    f"SELECT owner_id, name, size, content_type FROM {FILES} WHERE file_id = $1",  # noqa: S608
                    file_id,
                )
                if row is None:
                    missing = True  # maybe uploaded a moment ago
                else:
                    size, kind = int(row["size"]), str(row["content_type"])
                    file = Attachment(id=file_id, name=str(row["name"]), size=size, content_type=kind)
                    found.append((str(row["owner_id"]), file))
            return None if missing else found

        def all_mine(rows: list[tuple[str, Attachment]]) -> bool:
            return all(owner == owner_id for owner, _ in rows)

        rows = await self._wait_for(fetch, all_mine, self.patience)
        return None if rows is None else [file for _, file in rows]

    def forget(self, account_id: str) -> None:
        """A name changed: read it again next time."""
        self._names.pop(account_id, None)

    async def name(self, account_id: str) -> str:
        known = self._names.get(account_id)
        now = self.clock()
        if known is not None and now - known[1] < self.NAME_TTL:
            return known[0]

        async def fetch() -> Row | None:
            return await self.store.fetchrow(
                f"SELECT login, display_name FROM {ACCOUNTS} WHERE account_id = $1",  # noqa: S608
                account_id,
            )

        row = await self._wait_for(fetch, lambda _: True, self.NAME_PATIENCE)
        if row is None:
            return known[0] if known else ""
        name = str(row["display_name"] or row["login"])
        self._names[account_id] = (name, now)
        return name
