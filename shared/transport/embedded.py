"""Embedded transport: a durable, ordered log per topic in one SQLite file.

Several processes may share the file (WAL mode). Readers poll, less often while idle
(shared/backoff.py); publishers in the same process also wake them at once, so in ``lk run``
delivery does not wait for a poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Collection, Sequence
from pathlib import Path

from shared.backoff import IdleBackoff
from shared.transport import Message, Transport, TransportUnavailable

_wakers: dict[str, set[asyncio.Event]] = {}


class EmbeddedTransport(Transport):
    """A single partition (0) per topic; offsets start at 0."""

    def __init__(self, path: Path, poll_interval: float = 0.02, idle_poll_max: float = 1.0) -> None:
        self.path = path
        self.poll_interval = poll_interval
        self.idle_poll_max = idle_poll_max
        self._conn: sqlite3.Connection | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS messages (topic TEXT NOT NULL, offs INTEGER NOT NULL,"
            " key TEXT NOT NULL, value BLOB NOT NULL, PRIMARY KEY (topic, offs))"
        )
        self._conn = conn

    async def stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def ping(self) -> None:
        assert self._conn is not None, "transport is not started"
        conn = self._conn
        async with self._lock:
            await asyncio.to_thread(lambda: conn.execute("SELECT 1").fetchone())

    def _append(self, topic: str, records: Sequence[tuple[str, bytes]]) -> None:
        assert self._conn is not None, "transport is not started"
        conn = self._conn
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

    async def publish(self, topic: str, records: Sequence[tuple[str, bytes]]) -> None:
        if not records:
            return
        async with self._lock:
            try:
                await asyncio.to_thread(self._append, topic, records)
            except sqlite3.Error as exc:
                raise TransportUnavailable(str(exc)) from exc
        for event in _wakers.get(str(self.path), ()):
            event.set()

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

    def _read(self, topic: str, offset: int, limit: int) -> list[Message]:
        assert self._conn is not None, "transport is not started"
        rows = self._conn.execute(
            "SELECT offs, key, value FROM messages WHERE topic = ? AND offs >= ? ORDER BY offs LIMIT ?",
            (topic, offset, limit),
        ).fetchall()
        return [Message(topic, 0, offs, key, bytes(value)) for offs, key, value in rows]

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
        _wakers.setdefault(str(self.path), set()).add(wake)
        try:
            while True:
                batch: list[Message] = []
                for topic in topics:
                    async with self._lock:
                        got = await asyncio.to_thread(self._read, topic, offsets[topic], 500)
                    if got:
                        offsets[topic] = got[-1].offset + 1
                        batch.extend(got)
                if batch:
                    idle.reset()
                    yield batch
                    continue
                yield []
                wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), idle.wait())
        finally:
            _wakers[str(self.path)].discard(wake)
