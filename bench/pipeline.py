"""Identity's write → relay → transport → read-model chain, wired in-process as ``services.identity.main``
does, for one isolated ``Settings``."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from typing import Any

from services.identity.app import IdentityApp
from services.identity.projections import AccountDirectory
from services.identity.public import make_mapper
from shared.consumer import ConsumerRunner
from shared.events import Envelope
from shared.readstore import ReadStore, build_readstore
from shared.relay import RELAY_DDL, Relay
from shared.settings import Settings
from shared.transport import Transport, build_transport

SERVICE = "identity"


class TimedDirectory(AccountDirectory):
    """The account directory, noting which positions each batch wrote (stamped once it commits)."""

    def __init__(self, topic: str) -> None:
        super().__init__()
        self.topics = (topic,)
        self.pending: list[int] = []
        self.count = 0
        self._in_many = False

    def _note(self, events: Sequence[Envelope]) -> None:
        self.pending.extend(e.position for e in events)
        self.count += len(events)

    async def handle(self, tx: Any, event: Envelope) -> None:
        await super().handle(tx, event)
        if not self._in_many:
            self._note([event])

    if hasattr(AccountDirectory, "handle_many"):  # a batched projection API, if the product grows one

        async def handle_many(self, tx: Any, events: Sequence[Envelope]) -> None:
            self._in_many = True
            try:
                await super().handle_many(tx, events)  # type: ignore[misc]
            finally:
                self._in_many = False
            self._note(events)


def directory_runner(
    settings: Settings, transport: Transport, store: ReadStore, on_commit: Callable[[list[int]], None]
) -> tuple[ConsumerRunner, TimedDirectory]:
    """A ConsumerRunner with the AccountDirectory; ``on_commit(positions)`` runs after each batch commits."""
    projection = TimedDirectory(settings.topic(SERVICE))

    def applied() -> None:
        positions, projection.pending = projection.pending, []
        on_commit(positions)

    return ConsumerRunner(projection, transport, store, on_applied=applied), projection


class Pipeline:
    """IdentityApp + read store + transport + Relay of one mode (the consumer is added by the caller)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app: IdentityApp
        self.store: ReadStore
        self.transport: Transport
        self.relay: Relay
        self.tasks: list[asyncio.Task[None]] = []

    async def open(self) -> Pipeline:
        self.app = await asyncio.to_thread(IdentityApp, self.settings)
        self.store = build_readstore(self.settings, SERVICE)
        await self.store.open()
        self.transport = build_transport(self.settings)
        await self.transport.start()
        self.relay = Relay(
            name=SERVICE,
            app=self.app,
            mapper=make_mapper(self.app),
            transport=self.transport,
            topic=self.settings.topic(SERVICE),
            store=self.store,
            batch_size=self.settings.batch_size,
            poll_interval=self.settings.poll_interval,
        )
        await self.store.migrate(RELAY_DDL)
        return self

    async def warm_transport(self) -> None:
        """Create the topic and connect the producer up front, so no timing includes them."""
        ensure = getattr(self.transport, "_ensure_topic", None)
        if ensure is not None:
            await ensure(self.relay.topic)
            await self.transport._get_producer()  # type: ignore[attr-defined]

    def start(self, name: str, coro: Any) -> None:
        self.tasks.append(asyncio.create_task(coro, name=name))

    def check_tasks(self) -> None:
        """Raise the error of a background task that died."""
        for task in self.tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise RuntimeError(f"{task.get_name()} crashed") from task.exception()

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.transport.stop()
        with contextlib.suppress(Exception):
            await self.store.close()
        await asyncio.to_thread(self.app.close)


async def wait_until(check: Callable[[], bool], timeout: float, pipeline: Pipeline | None = None) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if pipeline is not None:
            pipeline.check_tasks()
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.005)
    return True
