"""The live bus between the chat's replicas: what is live but not an event — typing and presence.

Typing indicators and who has a socket open are never stored as events (services/chat/README.md):
on PostgreSQL they travel as ``NOTIFY`` on a channel of the chat's own (``pg_notify`` through
the read store's pool), heard by every replica on a ``LISTEN`` connection of its own
(:class:`shared.listen.CommitBell`, here with the payload). Each note carries the sender's
origin, and a replica ignores its own. A note lost while a listener reconnects costs a typing
indicator, or presence until the next heartbeat (every few seconds): nothing that is kept.

The embedded default is one process: :class:`LiveBus` itself tells nobody (``shared`` False).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import structlog

from shared.listen import CommitBell
from shared.readstore import ReadStore

log = structlog.get_logger(__name__)

Note = Mapping[str, object]
MAX_NOTE = 7000  # bytes of JSON per NOTIFY (PostgreSQL takes at most 8000)


def chunks(items: Sequence[Any], limit: int = MAX_NOTE) -> Iterator[list[Any]]:
    """``items`` in runs whose JSON stays under ``limit`` bytes."""
    part: list[Any] = []
    size = 0
    for item in items:
        length = len(json.dumps(item, ensure_ascii=False).encode()) + 1
        if part and size + length > limit:
            yield part
            part, size = [], 0
        part.append(item)
        size += length
    if part:
        yield part


class LiveBus:
    """Tells the other replicas; this one has none (the embedded default)."""

    shared = False

    def __init__(self) -> None:
        self.heard: Callable[[Note], None] = lambda note: None
        self.sent = 0
        self.received = 0

    def send(self, note: dict[str, object]) -> None:
        """Tell every other replica (never blocks; best effort)."""

    async def run(self) -> None:
        """Keep listening (a worker of the service)."""

    async def close(self) -> None:
        """Stop listening."""


class _Listener(CommitBell):
    """A ``LISTEN`` connection that hands each notification's payload on."""

    def __init__(self, dsn: str, channel: str, hear: Callable[[str], None]) -> None:
        super().__init__(dsn, channel, lambda: None)
        self.hear = hear

    def _notified(self, *args: object) -> None:  # asyncpg: (connection, pid, channel, payload)
        payload = args[3] if len(args) > 3 else ""
        self.hear(payload if isinstance(payload, str) else "")


class PostgresLiveBus(LiveBus):
    """``NOTIFY`` / ``LISTEN`` on ``channel`` of the database at ``dsn``."""

    shared = True
    RECHECK = 1.0  # seconds between checks that the listener is still connected

    def __init__(self, store: ReadStore, dsn: str, channel: str) -> None:
        super().__init__()
        self.store = store
        self.channel = channel
        self.origin = uuid.uuid4().hex
        self.listener = _Listener(dsn, channel, self._hear)
        self._sending: set[asyncio.Task[None]] = set()

    def send(self, note: dict[str, object]) -> None:
        payload = json.dumps({**note, "o": self.origin}, ensure_ascii=False, separators=(",", ":"))
        task = asyncio.get_running_loop().create_task(self._notify(payload))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _notify(self, payload: str) -> None:
        try:
            await self.store.execute("SELECT pg_notify($1, $2)", self.channel, payload)
            self.sent += 1
        except Exception as exc:  # noqa: BLE001 - ephemeral: a lost note is not worth an error upstream
            log.warning("chat.live_not_sent", error=f"{type(exc).__name__}: {exc}")

    def _hear(self, payload: str) -> None:
        try:
            note = json.loads(payload)
        except ValueError:
            return
        if not isinstance(note, dict) or note.get("o") == self.origin:
            return
        self.received += 1
        try:
            self.heard(note)
        except Exception:
            log.exception("chat.live_note_failed", kind=note.get("k"))

    async def run(self) -> None:
        while True:
            await self.listener.ensure()
            await asyncio.sleep(self.RECHECK)

    async def close(self) -> None:
        for task in list(self._sending):
            task.cancel()
        await self.listener.close()
