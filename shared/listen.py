"""Woken by PostgreSQL on commit: ``LISTEN`` on a dedicated connection.

The eventsourcing 9.5 PostgreSQL recorder issues ``NOTIFY <its events table>`` in the
transaction of every insert, so the server tells each listener once the events are
committed, whichever process wrote them (another replica, ``lk admin``). The listener is an
asyncpg connection of its own that does nothing but wait: its notifications arrive as
callbacks on the event loop, no poll. When the connection is lost (a restart of the server)
the owner polls at its old pace until :meth:`CommitBell.ensure` connects again; a notification
lost on the way costs one fallback poll (decision record 29).

The channel is the recorder's, named after its table (``<service>_events``): one per service.
Each service's table is in the service's own schema (shared/schemas.py), but a channel is the
database's, not a schema's; the table's name already keeps the services' channels apart, and
each system of the tests has a database of its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import asyncpg
import structlog

log = structlog.get_logger(__name__)

RETRY_AFTER = 5.0  # seconds between attempts to listen again after a failure
CONNECT_TIMEOUT = 5.0


class CommitBell:
    """Calls ``ring`` for every notification on ``channel`` of the database at ``dsn``."""

    def __init__(self, dsn: str, channel: str, ring: Callable[[], None]) -> None:
        self.dsn = dsn
        self.channel = channel
        self.ring = ring
        self._conn: asyncpg.Connection | None = None
        self._next_try = 0.0

    @property
    def listening(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    def _notified(self, *_: object) -> None:
        self.ring()

    async def ensure(self) -> bool:
        """Listening now? Connects (again) if not, at most every few seconds. Whatever was
        committed before this returns True must be read by the caller afterwards: only what
        comes later is rung."""
        if self.listening:
            return True
        await self.close()
        now = time.monotonic()
        if now < self._next_try:
            return False
        self._next_try = now + RETRY_AFTER
        try:
            conn = await asyncpg.connect(self.dsn, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("listen.unavailable", channel=self.channel, error=f"{type(exc).__name__}: {exc}")
            return False
        try:
            await conn.add_listener(self.channel, self._notified)
        except BaseException:
            await conn.close(timeout=CONNECT_TIMEOUT)
            raise
        self._conn = conn
        log.info("listen.started", channel=self.channel)
        return True

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            await conn.close(timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
            conn.terminate()  # a connection already broken: drop it without a goodbye
