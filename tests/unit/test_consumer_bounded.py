"""The consumer runner holds a bounded number of streams in memory (``seen_max``): the others
are recalled from lk_consumer_applied when met again, so a repeat of an old event is still
skipped and a read-your-writes wait on an old stream still returns at once."""

from __future__ import annotations

import uuid
from pathlib import Path

from shared.consumer import ConsumerRunner
from shared.events import Envelope
from shared.readstore import SQLiteReadStore, Tx
from shared.transport.embedded import EmbeddedTransport
from tests.unit.test_consumer import Rows, msg, rows


async def test_streams_beyond_the_bound_are_recalled_not_held(tmp_path: Path) -> None:
    store = SQLiteReadStore(tmp_path / "read.sqlite")
    await store.open()
    try:
        runner = ConsumerRunner(Rows(), EmbeddedTransport(tmp_path / "bus.sqlite"), store)
        runner.seen_max = 3
        await runner.setup()
        subjects = [str(uuid.uuid4()) for _ in range(10)]
        for offset, subject in enumerate(subjects):
            assert await runner.apply_batch([msg(subject, 1, offset)]) == 1
        assert len(runner._seen) == 3  # the last three met
        assert not runner.has_seen("identity", subjects[0], 1)

        # An old event again (a relay's repeat): recalled, skipped.
        assert await runner.apply_batch([msg(subjects[0], 1, 10), msg(subjects[1], 2, 11)]) == 1
        assert len(runner._seen) == 3
        assert await runner.wait_for_subject("identity", subjects[2], 1, timeout=0.5)
        assert not await runner.wait_for_subject("identity", subjects[2], 2, timeout=0.2)

        # A restart holds at most the bound, and still skips what was applied.
        again = ConsumerRunner(Rows(), EmbeddedTransport(tmp_path / "bus.sqlite"), store)
        again.seen_max = 3
        await again.setup()
        await again.load_seen()
        assert len(again._seen) == 3
        assert await again.apply_batch([msg(s, 1, 20 + i) for i, s in enumerate(subjects)]) == 0
        assert len(await rows(store)) == 11
    finally:
        await store.close()


class Memory(Rows):
    """A projection of every replica: what it applied is in this process's memory too."""

    every_replica = True

    def __init__(self) -> None:
        super().__init__()
        self.held: set[str] = set()

    async def handle(self, tx: Tx, event: Envelope) -> None:
        await super().handle(tx, event)
        self.held.add(event.subject)


async def test_a_projection_of_every_replica_applies_what_another_replica_applied(tmp_path: Path) -> None:
    """Two replicas' runners of one such projection share its rows: a row the other wrote must
    not make this one skip the event, or its memory would miss it (a session unknown → 401)."""
    store = SQLiteReadStore(tmp_path / "read.sqlite")
    await store.open()
    try:
        mine, other = Memory(), Memory()
        runners = [
            ConsumerRunner(p, EmbeddedTransport(tmp_path / "bus.sqlite"), store) for p in (mine, other)
        ]
        for runner in runners:
            await runner.setup()
        subject = str(uuid.uuid4())
        assert await runners[1].apply_batch([msg(subject, 1, 0)]) == 1  # the other replica first
        assert await runners[0].apply_batch([msg(subject, 1, 0)]) == 1
        assert subject in mine.held and subject in other.held
        assert await runners[0].apply_batch([msg(subject, 1, 0)]) == 0  # its own repeat: skipped
    finally:
        await store.close()
