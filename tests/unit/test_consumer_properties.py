"""Property: for any interleaving of several sources' events with colliding ids (repeats
included, cut into batches anywhere), the projection equals the one built source by source."""

from __future__ import annotations

import asyncio
import itertools
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.consumer import ConsumerRunner
from shared.readstore import SQLiteReadStore
from shared.transport import Message
from shared.transport.embedded import EmbeddedTransport
from tests.unit.test_consumer import Rows, msg

SOURCES = ("applications", "chat", "files")
IDS = ("00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002")


@st.composite
def histories(draw: st.DrawFn) -> list[tuple[str, str, int]]:
    """Each stream's events in order (a relay may repeat a suffix), interleaved at random."""
    streams: list[list[tuple[str, str, int]]] = []
    for source in SOURCES:
        for subject in IDS:
            count = draw(st.integers(0, 6))
            events = [(source, subject, n) for n in range(1, count + 1)]
            repeat = draw(st.booleans())
            if events and repeat:
                events += events[draw(st.integers(0, len(events) - 1)) :]  # republished tail
            streams.append(events)
    merged: list[tuple[str, str, int]] = []
    while any(streams):
        pick = draw(st.sampled_from([s for s in streams if s]))
        merged.append(pick.pop(0))
    return merged


async def project(events: list[tuple[str, str, int]], cuts: list[int]) -> list[tuple[str, int]]:
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteReadStore(Path(tmp) / "read.sqlite")
        await store.open()
        try:
            runner = ConsumerRunner(Rows(), EmbeddedTransport(Path(tmp) / "bus.sqlite"), store)
            await runner.setup()
            messages: list[Message] = [
                msg(subject, seq, offset, source=source, topic=f"unit.{source}.events")
                for offset, (source, subject, seq) in enumerate(events)
            ]
            bounds = sorted({0, len(messages), *[c % (len(messages) + 1) for c in cuts]})
            for start, end in itertools.pairwise(bounds):
                await runner.apply_batch(messages[start:end])
            rows = await store.fetch("SELECT subject, sequence FROM test_rows")
            return sorted((r["subject"], int(r["sequence"])) for r in rows)
        finally:
            await store.close()


@settings(max_examples=60, deadline=None)
@given(histories(), st.lists(st.integers(0, 100), max_size=5))
def test_interleaving_does_not_change_the_projection(
    events: list[tuple[str, str, int]], cuts: list[int]
) -> None:
    together = asyncio.run(project(events, cuts))
    separately: list[tuple[str, int]] = []
    for source in SOURCES:
        separately += asyncio.run(project([e for e in events if e[0] == source], []))
    assert together == sorted(separately)
    # and each event of each stream is applied exactly once, whatever was repeated
    assert len(together) == len(set(events))
