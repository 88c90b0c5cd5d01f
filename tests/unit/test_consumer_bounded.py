"""The consumer runner holds a bounded number of streams in memory (``seen_max``): the others
are recalled from lk_consumer_applied when met again, so a repeat of an old event is still
skipped and a read-your-writes wait on an old stream still returns at once."""

from __future__ import annotations

import uuid
from pathlib import Path

from shared.consumer import ConsumerRunner
from shared.readstore import SQLiteReadStore
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
