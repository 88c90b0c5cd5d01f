"""The outbox relay: tails a service's event store and publishes public events.

No dual writes: a command writes only to the event store. The relay reads the
notification log from its last recorded position, maps each domain event to a public
envelope, publishes the batch, waits for every acknowledgement and only then records
the new position — beside the next batches, not before them (the read store's writers do not
hold the relay up). A crash repeats what was published since the last recorded position, at
most a few batches; consumers dedupe by (source, subject, sequence). Notification ids may have gaps (rolled-back inserts): the relay
asks for "everything after N", so gaps are simply skipped.

It does not poll while idle: a commit in its own process wakes it (``wake``), and on
PostgreSQL so does every commit of any process (the recorder's ``NOTIFY`` in the insert's
transaction, heard on a ``LISTEN`` connection: shared/listen.py). It still looks now and then
(``fallback_poll``), in case a notification was lost; without a listener (SQLite, or while
the listening connection is down) an idle poll backs off only to ``idle_poll_max``.

One relay per service at a time: with several replicas, the relay runs only in the replica
that leads ``relay:<service>`` (a PostgreSQL advisory lock, shared/leader.py); the others wait
for the lock and take over when the leader's session ends. It reads its position again each
time it becomes the leader. On SQLite the one process leads.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

import structlog
from eventsourcing.application import Application
from eventsourcing.persistence import Notification

from shared.backoff import IdleBackoff
from shared.events import Envelope, PublicEvent
from shared.leader import Leader
from shared.listen import CommitBell
from shared.mapping import UnmappedEvent
from shared.readstore import ReadStore
from shared.transport import Transport, TransportUnavailable

log = structlog.get_logger(__name__)

STALL_AFTER = 2.0  # seconds a publish may wait for acknowledgements before the relay counts as stalled

RELAY_DDL = [
    "CREATE TABLE IF NOT EXISTS lk_relay_positions (name TEXT PRIMARY KEY, position BIGINT NOT NULL)"
]

Mapper = Callable[[Any], PublicEvent | None]
"""Maps one internal domain event to its public event, or None to keep it internal."""


class Relay:
    """Publishes ``app``'s events to ``topic`` through ``transport``."""

    def __init__(
        self,
        *,
        name: str,
        app: Application[Any],
        mapper: Mapper,
        transport: Transport,
        topic: str,
        store: ReadStore,
        batch_size: int = 500,
        poll_interval: float = 0.02,
        idle_poll_max: float = 1.0,
        fallback_poll: float = 10.0,
        listen_dsn: str | None = None,
        retry_max: float = 5.0,
        leader: Leader | None = None,
    ) -> None:
        self.name = name
        self.leader = leader
        self.lead = f"relay:{name}"
        self.app = app
        self.mapper = mapper
        self.transport = transport
        self.topic = topic
        self.store = store
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.idle = IdleBackoff(poll_interval, idle_poll_max)
        self.fallback_poll = max(idle_poll_max, fallback_poll)
        # Every commit to a PostgreSQL event store rings (whichever process made it).
        channel = getattr(app.recorder, "channel_name", None)
        self.bell = CommitBell(listen_dsn, channel, self.wake) if listen_dsn and channel else None
        self.retry_max = retry_max
        self.position = 0
        # True while the transport refuses what the relay publishes: nothing the service
        # commits now reaches its own projections either, so read-your-writes waits are moot.
        self._failing = False
        self._publishing_since: float | None = None
        self.unmapped = 0  # domain events the mapper knows nothing of (logged, never silent)
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._soon = False  # a wake_soon is scheduled
        self._recorded = 0  # the position last stored
        self._recording: asyncio.Task[None] | None = None

    @property
    def stalled(self) -> bool:
        """True while the transport refuses or does not acknowledge what the relay publishes
        (the last attempt failed, or one has been waiting for over two seconds): nothing this
        service commits reaches its own projections either, so read-your-writes waits are moot."""
        since = self._publishing_since
        return self._failing or (since is not None and time.monotonic() - since > STALL_AFTER)

    def wake(self) -> None:
        """Called (from any thread) after a command saved events: publish now."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    def wake_soon(self) -> None:
        """Called (from any thread) after a command saved events: publish within one poll
        interval, with whatever else is saved meanwhile (one batch for a burst of commands)."""
        loop = self._loop
        if loop is not None and not self._soon:
            self._soon = True
            loop.call_soon_threadsafe(loop.call_later, self.poll_interval, self._wake_now)

    def _wake_now(self) -> None:
        self._soon = False
        self._wake.set()

    def envelope(self, notification: Notification) -> Envelope | None:
        domain_event = self.app.mapper.to_domain_event(notification)
        try:
            public = self.mapper(domain_event)
        except UnmappedEvent as exc:
            # A class the service declared neither public nor internal (a rename?): say so
            # loudly and count it; /health shows the count.
            self.unmapped += 1
            log.error("relay.unmapped_event", relay=self.name, type=str(exc), position=notification.id)
            return None
        if public is None:
            return None
        return public.envelope(
            source=self.app.name.lower(),
            subject=str(notification.originator_id),
            sequence=notification.originator_version,
            position=notification.id,
            time=getattr(domain_event, "timestamp", None),
            actor=(getattr(domain_event, "audit", None) or {}).get("actor"),
        )

    async def publish_pending(self) -> int:
        """Publish one batch after the position and record the new position; returns how
        many were read."""
        count = await self._publish_batch()
        await self.record_position()
        return count

    async def _publish_batch(self) -> int:
        """Publish one batch after the position (acknowledged) and move the position on in
        memory; returns how many were read."""
        notifications = await asyncio.to_thread(
            self.app.recorder.select_notifications,
            self.position + 1,
            self.batch_size,
        )
        if not notifications:
            return 0
        envelopes = [e for e in map(self.envelope, notifications) if e is not None]
        await self.transport.publish(self.topic, [(e.subject, e.to_bytes()) for e in envelopes])
        self.position = notifications[-1].id
        return len(notifications)

    async def record_position(self) -> None:
        """Store the position reached (until it is stored, a restart publishes again what
        came after the stored one: consumers drop the repeats)."""
        while self._recorded < self.position:
            position = self.position
            await self.store.execute(
                "INSERT INTO lk_relay_positions (name, position) VALUES ($1, $2)"
                " ON CONFLICT (name) DO UPDATE SET position = excluded.position",
                self.name,
                position,
            )
            self._recorded = max(self._recorded, position)

    def _record_soon(self) -> None:
        """Store the position beside the publishing, not before the next batch: the store's
        writers (a service's consumers share it) never hold the relay, hence never the
        read-your-writes waits behind it. One write at a time, of the newest position."""
        if self._recording is None or self._recording.done():
            self._recording = asyncio.create_task(self._record_quietly())

    async def _record_quietly(self) -> None:
        try:
            await self.record_position()
        except Exception as exc:  # noqa: BLE001 - the next batch (or the stop) tries again
            log.warning("relay.position_not_recorded", relay=self.name, error=str(exc))

    @property
    def leading(self) -> bool:
        """Whether this replica's relay is the one that publishes (no leader: always)."""
        return self.leader is None or self.leader.leads(self.lead)

    async def run(self) -> None:
        """Publish forever while leading; back off while the transport is unavailable."""
        self._loop = asyncio.get_running_loop()
        if self.leader is None:
            await self._lead()
        else:
            await self.leader.hold(self.lead, self._lead)

    async def _lead(self) -> None:
        await self.store.migrate(RELAY_DDL)
        self.position = (
            await self.store.fetchval("SELECT position FROM lk_relay_positions WHERE name = $1", self.name)
            or 0
        )
        self._recorded = self.position
        log.info("relay.started", relay=self.name, topic=self.topic, position=self.position)
        try:
            await self._publish_forever()
        finally:
            await self._stop_recording()
            if self.bell is not None:
                await self.bell.close()

    async def _stop_recording(self) -> None:
        """The last position reached is stored before the relay stops (best effort: after a
        crash the consumers drop what is published again)."""
        if self._recording is not None and not self._recording.done():
            with contextlib.suppress(asyncio.CancelledError):
                await self._recording
        await self._record_quietly()

    async def _publish_forever(self) -> None:
        delay = 0.5
        while True:
            # Listening before the look: what is committed from now on rings.
            listening = self.bell is not None and await self.bell.ensure()
            self._wake.clear()
            self._publishing_since = time.monotonic()
            try:
                count = await self._publish_batch()
                if count:
                    self._record_soon()
                delay = 0.5
                self._failing = False
            except TransportUnavailable as exc:
                self._failing = True
                log.warning("relay.transport_unavailable", relay=self.name, error=str(exc), retry_in=delay)
                self._publishing_since = None
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_max)
                continue
            self._publishing_since = None
            if count:
                self.idle.reset()
            if count < self.batch_size:
                wait = (
                    self.poll_interval if count else self.idle.wait(self.fallback_poll if listening else None)
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
