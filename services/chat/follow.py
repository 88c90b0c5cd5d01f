"""The follower: what the chat's other replicas commit reaches this process's sockets.

Each chat process tails the chat's event store (its notification log) live, from its end at
start: no stored position (what was committed before is history, read from the store by
every channel that opens). On PostgreSQL it is woken by the recorder's ``NOTIFY`` on commit
(:class:`shared.listen.CommitBell`, as the relay), so another replica's message reaches a
socket here within a few milliseconds, with no relay, Kafka or leader in the way; it still
looks every ``fallback_poll`` seconds in case a notification was lost, and polls while the
listener is down. On SQLite (a test's second instance on one file) it polls, less often while
idle.

For each event some other process wrote (this process's own are told apart by notification
id, :attr:`ChatApp.own`), the follower tells the application (``written_elsewhere``: a cached
copy older than that is reloaded before anything is decided or read from it) and pushes a
message or a read receipt to the thread's sockets here, if it has any. The channels deliver each
once, in order (services/chat/channel.py). The embedded default is one process and runs no
follower (``LK_CHAT_FOLLOW``).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from eventsourcing.persistence import Notification

from services.chat.app import ChatApp, Message, OwnWrites, Receipt, message_out
from services.chat.domain import Thread, marks_of
from shared.backoff import IdleBackoff
from shared.listen import CommitBell

log = structlog.get_logger(__name__)

BATCH = 500


@dataclass(frozen=True)
class Heard:
    """One push for this process's sockets: a message or a read receipt of a thread."""

    thread_id: str
    message: Message | None = None
    receipt: Receipt | None = None


class Follower:
    """Tails ``chat``'s event store from its end; ``deliver`` gets what others committed."""

    def __init__(
        self,
        chat: ChatApp,
        deliver: Callable[[Heard], None],
        watched: Callable[[str], bool],
        *,
        listen_dsn: str | None = None,
        poll_interval: float = 0.02,
        idle_poll_max: float = 1.0,
        fallback_poll: float = 10.0,
    ) -> None:
        self.chat = chat
        self.deliver = deliver
        self.watched = watched  # does a socket here follow this thread?
        self.poll_interval = poll_interval
        self.idle = IdleBackoff(poll_interval, idle_poll_max)
        self.fallback_poll = max(idle_poll_max, fallback_poll)
        channel = getattr(chat.recorder, "channel_name", None)
        self.bell = CommitBell(listen_dsn, channel, self.wake) if listen_dsn and channel else None
        self.position: int | None = None
        self.foreign = 0  # events of other processes seen
        self.pushed = 0  # of them, pushed to sockets here
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def wake(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def start(self) -> None:
        """Listen, then take the store's end as the position: whatever is committed from now on
        is followed. Called before the service serves."""
        self._loop = asyncio.get_running_loop()
        self.chat.own = OwnWrites()
        if self.bell is not None:
            await self.bell.ensure()
        self.position = await asyncio.to_thread(self.chat.recorder.max_notification_id) or 0
        log.info("chat.follower_started", position=self.position, listening=self.listening)

    @property
    def listening(self) -> bool:
        return self.bell is not None and self.bell.listening

    async def run(self) -> None:
        if self.position is None:
            await self.start()
        try:
            while True:
                listening = self.bell is not None and await self.bell.ensure()
                self._wake.clear()
                count = await self.look()
                if count >= BATCH:
                    continue
                if count:
                    self.idle.reset()
                wait = (
                    self.poll_interval if count else self.idle.wait(self.fallback_poll if listening else None)
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
        finally:
            if self.bell is not None:
                await self.bell.close()

    async def look(self) -> int:
        """Read what was committed after the position; push what others wrote. How many read."""
        position = self.position or 0
        notes, heard = await asyncio.to_thread(self._read, position)
        if notes:
            self.position = notes[-1].id
        for item in heard:
            self.pushed += 1
            self.deliver(item)
        return len(notes)

    def _read(self, position: int) -> tuple[list[Notification], list[Heard]]:
        """In a worker thread: the notifications after ``position``, and the pushes for them."""
        notes = list(self.chat.recorder.select_notifications(position + 1, BATCH))
        own = self.chat.own
        heard: list[Heard] = []
        for note in notes:
            if own is not None and own.take(note.id):
                continue
            self.foreign += 1
            thread_id = uuid.UUID(str(note.originator_id))
            self.chat.written_elsewhere(thread_id, note.originator_version)
            key = str(thread_id)
            if not self.watched(key):
                continue
            event = self.chat.mapper.to_domain_event(note)
            if isinstance(event, Thread.MessagePosted):
                heard.append(Heard(key, message=message_out(key, event)))
            elif isinstance(event, Thread.MessageRead):
                thread = self.chat.thread(thread_id)
                receipt: Receipt = {
                    "reader_id": event.reader_id,
                    "reader_role": event.role,
                    "up_to_seq": event.up_to_seq,
                    "read": marks_of(thread),
                }
                heard.append(Heard(key, receipt=receipt))
        if notes and own:  # ids this process wrote that the look passed already (a race): forget
            own.drop_upto(notes[-1].id)
        return notes, heard
