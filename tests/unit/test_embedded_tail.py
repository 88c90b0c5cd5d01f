"""The embedded transport's tail (shared/transport/embedded.py): what this process published is
read from memory, and what another writer appended to the same file is never missed — neither
between two publishes of this process (the tail's run breaks) nor alone (the file is read at
least once a second, and on every poll that timed out)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shared.transport import Message, embedded
from shared.transport.embedded import EmbeddedTransport
from tests.contract.conftest import Reader

TOPIC = "tail.events"


def foreign_append(path: Path, key: str, value: bytes) -> int:
    """What another process appending to the file does (its own connection, no tail here)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        offset = conn.execute(
            "SELECT COALESCE(MAX(offs), -1) + 1 FROM messages WHERE topic = ?", (TOPIC,)
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO messages (topic, offs, key, value) VALUES (?, ?, ?, ?)", (TOPIC, offset, key, value)
        )
        return int(offset)
    finally:
        conn.close()


@pytest.fixture
async def bus(tmp_path: Path) -> AsyncIterator[EmbeddedTransport]:
    transport = EmbeddedTransport(tmp_path / "bus.sqlite", poll_interval=0.01, idle_poll_max=0.2)
    await transport.start()
    yield transport
    await transport.stop()


async def test_a_woken_reader_takes_this_process_messages_from_memory(
    bus: EmbeddedTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader = Reader(bus, [TOPIC], {})
    try:
        await reader.idle_for(0.1)  # at the end of the (empty) topic, waiting
        reads: list[int] = []
        read = bus._read

        def counted(conn: sqlite3.Connection, topic: str, offset: int, limit: int) -> list[Message]:
            reads.append(offset)
            return read(conn, topic, offset, limit)

        monkeypatch.setattr(bus, "_read", counted)
        await bus.publish(TOPIC, [("a", b"1"), ("b", b"2")])
        got = await reader.until(lambda ms: len(ms) >= 2, timeout=5)
    finally:
        await reader.close()
    assert [(m.offset, m.value) for m in got] == [(0, b"1"), (1, b"2")]
    assert reads == []  # the publish woke it, the tail held both: no trip to the file


async def test_another_writers_messages_between_two_publishes_are_read_from_the_file(
    bus: EmbeddedTransport,
) -> None:
    reader = Reader(bus, [TOPIC], {})
    try:
        await bus.publish(TOPIC, [("a", b"mine-0")])
        await reader.until(lambda ms: len(ms) >= 1, timeout=5)
        assert foreign_append(bus.path, "f", b"theirs-1") == 1
        await bus.publish(TOPIC, [("a", b"mine-2")])  # offset 2: the tail starts again there
        got = await reader.until(lambda ms: len(ms) >= 3, timeout=5)
        got = got + await reader.idle_for(0.3)
    finally:
        await reader.close()
    assert [(m.offset, m.value) for m in got] == [(0, b"mine-0"), (1, b"theirs-1"), (2, b"mine-2")]


async def test_another_writers_message_alone_arrives_within_the_idle_poll(bus: EmbeddedTransport) -> None:
    reader = Reader(bus, [TOPIC], {})
    try:
        await bus.publish(TOPIC, [("a", b"mine-0")])
        await reader.until(lambda ms: len(ms) >= 1, timeout=5)
        foreign_append(bus.path, "f", b"theirs-1")  # nothing of this process wakes the reader
        got = await reader.until(lambda ms: len(ms) >= 2, timeout=5)
    finally:
        await reader.close()
    assert [m.value for m in got] == [b"mine-0", b"theirs-1"]


def test_the_tail_is_bounded_and_contiguous(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedded, "TAIL_MESSAGES", 3)
    tail = embedded._Tail()
    messages = [Message(TOPIC, 0, i, "k", b"v") for i in range(5)]
    tail.add(messages[0], messages)
    assert (tail.start, tail.end) == (2, 5)  # the newest three
    assert tail.read(1, 10) is None  # older: only the file has it
    assert [m.offset for m in tail.read(3, 10) or []] == [3, 4]
    later = [Message(TOPIC, 0, 9, "k", b"w")]
    tail.add(later[0], later)  # a gap (someone else's 5–8): the run starts again
    assert (tail.start, tail.end) == (9, 10) and tail.read(4, 10) is None
