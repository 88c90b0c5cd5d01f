"""Embedded transport: a durable, ordered log per topic in one SQLite file.

Several processes may share the file (WAL mode). Readers poll, less often while idle
(shared/backoff.py); publishers in the same process also wake them at once, so in ``lk run``
delivery does not wait for a poll.

What this process published last is also kept in memory (``_Tail``, a bounded run of each
topic's newest messages, exactly as stored): a reader woken by that publish takes it from
there, without a trip to the file. The file stays the truth: a reader outside the tail, a
poll that timed out, and at least one round a second read the file, so what another process
appended is never missed (its offsets also break the tail's run, which then starts again).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sqlite3
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from pathlib import Path
from typing import TypeVar

from shared.backoff import IdleBackoff
from shared.readstore import sqlite_busy
from shared.transport import Message, Transport, TransportUnavailable

# file -> the readers waiting on it, each with its loop (a publish from another thread's loop
# wakes a reader through the reader's own loop)
_wakers: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}
TAIL_MESSAGES = 2000  # per topic, at most
TAIL_BYTES = 4 * 1024 * 1024  # per topic, at most (the values' bytes)
READ_LIMIT = 500
CHECKPOINT_EVERY = 500  # appends between two checkpoints of the WAL
T = TypeVar("T")


class _Tail:
    """A topic's newest messages as this process published them: contiguous offsets from
    ``start`` (all of them stored in the file already)."""

    def __init__(self) -> None:
        self.start = 0
        self.messages: deque[Message] = deque()
        self.size = 0
        # Loops of several threads may share one file's tail (two apps in a test): a lock
        # keeps a read from meeting an append half done. Uncontended in lk run.
        self.lock = threading.Lock()

    @property
    def end(self) -> int:
        return self.start + len(self.messages)

    def add(self, first: Message, messages: list[Message]) -> None:
        with self.lock:
            self._add(first, messages)

    def _add(self, first: Message, messages: list[Message]) -> None:
        if first.offset != self.end:  # another writer's messages came between: start again
            self.messages.clear()
            self.size = 0
            self.start = first.offset
        self.messages.extend(messages)
        self.size += sum(len(m.value) for m in messages)
        while self.messages and (len(self.messages) > TAIL_MESSAGES or self.size > TAIL_BYTES):
            self.size -= len(self.messages.popleft().value)
            self.start += 1

    def read(self, offset: int, limit: int) -> list[Message] | None:
        """The messages from ``offset`` if the tail holds it; None if only the file can tell."""
        with self.lock:
            if not self.messages or not self.start <= offset < self.end:
                return None
            first = offset - self.start
            return list(itertools.islice(self.messages, first, first + limit))


_tails: dict[str, dict[str, _Tail]] = {}  # file -> topic -> what this process published last


class EmbeddedTransport(Transport):
    """A single partition (0) per topic; offsets start at 0."""

    def __init__(self, path: Path, poll_interval: float = 0.02, idle_poll_max: float = 1.0) -> None:
        self.path = path
        self.poll_interval = poll_interval
        self.idle_poll_max = idle_poll_max
        self._conn: sqlite3.Connection | None = None  # waits for the file's lock, on a thread
        self._direct: sqlite3.Connection | None = None  # on the loop, never waits (see _run)
        self._lock = asyncio.Lock()
        self._appends = 0
        self._checkpoint: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS messages (topic TEXT NOT NULL, offs INTEGER NOT NULL,"
            " key TEXT NOT NULL, value BLOB NOT NULL, PRIMARY KEY (topic, offs))"
        )
        self._conn = conn
        direct = sqlite3.connect(self.path, timeout=0, isolation_level=None)
        direct.execute("PRAGMA wal_autocheckpoint=0")  # checkpoints run on a thread (_appended)
        self._direct = direct

    async def stop(self) -> None:
        if self._checkpoint is not None:
            with contextlib.suppress(Exception):
                await self._checkpoint
        if self._direct is not None:
            self._direct.close()
            self._direct = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def ping(self) -> None:
        assert self._conn is not None, "transport is not started"
        conn = self._conn
        async with self._lock:
            await asyncio.to_thread(lambda: conn.execute("SELECT 1").fetchone())

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn`` on the loop's own connection: an append or a read of the log takes well
        under a millisecond, less than a hand-off to a thread and back. If another process
        holds the file's lock, ``fn`` runs on a thread instead, on the connection that waits."""
        direct = self._direct
        assert direct is not None and self._conn is not None, "transport is not started"
        try:
            return fn(direct)
        except sqlite3.OperationalError as exc:
            if not sqlite_busy(exc):
                raise
            if direct.in_transaction:
                direct.execute("ROLLBACK")
        conn = self._conn
        async with self._lock:
            return await asyncio.to_thread(fn, conn)

    def _appended(self) -> None:
        """Every ``CHECKPOINT_EVERY`` appends, the WAL is checkpointed on a thread."""
        self._appends += 1
        if self._appends % CHECKPOINT_EVERY == 0 and (self._checkpoint is None or self._checkpoint.done()):
            self._checkpoint = asyncio.create_task(self._checkpoint_wal())

    async def _checkpoint_wal(self) -> None:
        conn = self._conn
        if conn is None:
            return
        try:
            async with self._lock:
                await asyncio.to_thread(lambda: conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall())
        except sqlite3.Error:
            pass  # the next one tries again

    @staticmethod
    def _append(conn: sqlite3.Connection, topic: str, records: Sequence[tuple[str, bytes]]) -> int:
        """Append in one transaction; the offset of the first record."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            last = conn.execute(
                "SELECT COALESCE(MAX(offs), -1) FROM messages WHERE topic = ?", (topic,)
            ).fetchone()[0]
            conn.executemany(
                "INSERT INTO messages (topic, offs, key, value) VALUES (?, ?, ?, ?)",
                [(topic, last + 1 + i, key, value) for i, (key, value) in enumerate(records)],
            )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return int(last) + 1

    async def publish(self, topic: str, records: Sequence[tuple[str, bytes]]) -> None:
        if not records:
            return
        try:
            first = await self._run(lambda conn: self._append(conn, topic, records))
        except sqlite3.Error as exc:
            raise TransportUnavailable(str(exc)) from exc
        self._appended()
        stored = [Message(topic, 0, first + i, key, value) for i, (key, value) in enumerate(records)]
        tails = _tails.setdefault(str(self.path), {})
        tails.setdefault(topic, _Tail()).add(stored[0], stored)
        here = asyncio.get_running_loop()
        for loop, event in list(_wakers.get(str(self.path), ())):
            if loop is here:
                event.set()
            elif not loop.is_closed():
                loop.call_soon_threadsafe(event.set)

    async def end_offsets(self, topics: Sequence[str]) -> dict[tuple[str, int], int]:
        assert self._conn is not None, "transport is not started"
        conn, wanted = self._conn, list(dict.fromkeys(topics))
        marks = ", ".join("?" * len(wanted))

        def read() -> dict[str, int]:
            rows = conn.execute(
                f"SELECT topic, MAX(offs) + 1 FROM messages WHERE topic IN ({marks}) GROUP BY topic",  # noqa: S608
                wanted,
            ).fetchall()
            return {topic: int(end) for topic, end in rows}

        try:
            async with self._lock:
                found = await asyncio.to_thread(read) if wanted else {}
        except sqlite3.Error as exc:
            raise TransportUnavailable(str(exc)) from exc
        return {(topic, 0): found.get(topic, 0) for topic in wanted}

    @staticmethod
    def _read(conn: sqlite3.Connection, topic: str, offset: int, limit: int) -> list[Message]:
        rows = conn.execute(
            "SELECT offs, key, value FROM messages WHERE topic = ? AND offs >= ? ORDER BY offs LIMIT ?",
            (topic, offset, limit),
        ).fetchall()
        return [Message(topic, 0, offs, key, bytes(value)) for offs, key, value in rows]

    async def _next(self, tail: _Tail | None, topic: str, offset: int, everything: bool) -> list[Message]:
        """The messages from ``offset``: from the tail if it holds them; none if the reader is
        at the tail's end and only a publish of this process woke it; else from the file."""
        found = tail.read(offset, READ_LIMIT) if tail is not None else None
        if found is not None:
            return found
        if tail is not None and offset == tail.end and not everything:
            return []
        return await self._run(lambda conn: self._read(conn, topic, offset, READ_LIMIT))

    async def consume(
        self,
        topics: Sequence[str],
        next_offsets: dict[tuple[str, int], int],
        only: Collection[int] | None = None,
    ) -> AsyncIterator[list[Message]]:
        if only is not None and 0 not in only:
            topics = []  # partition 0 is all there is: nothing to read, only the idle beat
        offsets = {topic: next_offsets.get((topic, 0), 0) for topic in topics}
        wake = asyncio.Event()
        idle = IdleBackoff(self.poll_interval, self.idle_poll_max)
        tails = _tails.setdefault(str(self.path), {})
        waker = (asyncio.get_running_loop(), wake)
        _wakers.setdefault(str(self.path), set()).add(waker)
        woken = False  # by a publish of this process (not a timed-out wait)
        checked = 0.0  # when every topic was last read from the file
        try:
            while True:
                everything = not woken or time.monotonic() - checked >= self.idle_poll_max
                if everything:
                    checked = time.monotonic()
                batch: list[Message] = []
                for topic in topics:
                    got = await self._next(tails.get(topic), topic, offsets[topic], everything)
                    if got:
                        offsets[topic] = got[-1].offset + 1
                        batch.extend(got)
                if batch:
                    idle.reset()
                    woken = True  # a full batch: more may wait where the last one came from
                    yield batch
                    continue
                yield []
                wake.clear()
                woken = False
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), idle.wait())
                    woken = True
        finally:
            _wakers[str(self.path)].discard(waker)
