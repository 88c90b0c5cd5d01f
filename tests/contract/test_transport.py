"""The transport contract, one body for EmbeddedTransport and KafkaTransport."""

from __future__ import annotations

from collections import defaultdict

from shared.transport import Message, Transport
from tests.contract.conftest import Reader, readable

KEYS = [f"account-{i}" for i in range(6)]


def records(round_: str, per_key: int) -> list[tuple[str, bytes]]:
    """Interleaved keys; each value names its key and its place in that key's order."""
    return [(key, f"{round_}|{key}|{i}".encode()) for i in range(per_key) for key in KEYS]


def by_key(messages: list[Message]) -> dict[str, list[bytes]]:
    grouped: dict[str, list[bytes]] = defaultdict(list)
    for msg in messages:
        grouped[msg.key].append(msg.value)
    return dict(grouped)


async def test_publish_then_consume_exactly_once_in_key_order(transport: Transport, topic: str) -> None:
    first = records("first", 10)
    await transport.publish(topic, first[:25])
    assert await readable(transport, topic) == 25  # publish returned: all are readable
    await transport.publish(topic, first[25:])
    await transport.publish(topic, [])  # nothing to do, no error
    assert await readable(transport, topic) == len(first)

    reader = Reader(transport, [topic], {})
    try:
        got = await reader.until(lambda ms: len(ms) >= len(first))
        got = got + await reader.idle_for(1.0)
    finally:
        await reader.close()
    assert sorted(m.value for m in got) == sorted(v for _, v in first)  # each exactly once
    assert by_key(got) == by_key([Message(topic, 0, 0, k, v) for k, v in first])  # key order kept
    assert {m.topic for m in got} == {topic}
    for part in {m.partition for m in got}:
        offsets = [m.offset for m in got if m.partition == part]
        assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets)

    # Resuming from the recorded next offsets: nothing old, and new records arrive.
    resumed = Reader(transport, [topic], reader.next_offsets)
    try:
        assert await resumed.idle_for(1.0) == []
        second = records("second", 3)
        await transport.publish(topic, second)
        assert await readable(transport, topic) == len(first) + len(second)
        again = await resumed.until(lambda ms: len(ms) >= len(second))
        again = again + await resumed.idle_for(1.0)
    finally:
        await resumed.close()
    assert sorted(m.value for m in again) == sorted(v for _, v in second)
    assert by_key(again) == by_key([Message(topic, 0, 0, k, v) for k, v in second])


async def test_consume_from_empty_offsets_reads_from_the_beginning_of_every_topic(
    transport: Transport, topic: str, prefix: str
) -> None:
    other = f"{prefix}other.events"
    await transport.publish(topic, [("a", b"1")])
    await transport.publish(other, [("b", b"2")])
    reader = Reader(transport, [topic, other], {})
    try:
        got = await reader.until(lambda ms: len(ms) >= 2)
    finally:
        await reader.close()
    assert sorted((m.topic, m.key, m.value) for m in got) == [(topic, "a", b"1"), (other, "b", b"2")]


async def test_end_offsets_are_the_next_offsets_of_a_reader_that_read_everything(
    transport: Transport, topic: str, prefix: str
) -> None:
    never = f"{prefix}chat.events"  # no record published, not even created
    assert sum((await transport.end_offsets([never])).values()) == 0
    await transport.publish(topic, records("lag", 4))
    ends = await transport.end_offsets([topic, never])
    assert sum(v for (t, _), v in ends.items() if t == topic) == 4 * len(KEYS)
    reader = Reader(transport, [topic], {})
    try:
        await reader.until(lambda ms: len(ms) >= 4 * len(KEYS))
    finally:
        await reader.close()
    # What the reader has not seen is the lag: none, on every partition it read.
    assert all(ends[key] == offset for key, offset in reader.next_offsets.items())
    assert {t for t, _ in ends} <= {topic, never}
    await transport.publish(topic, records("more", 1))
    later = await transport.end_offsets([topic])
    assert sum(later[k] - reader.next_offsets.get(k, 0) for k in later) == len(KEYS)
