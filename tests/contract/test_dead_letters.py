"""Dead letters on each read store (SQLite and PostgreSQL): parked with the offset moved past
it, retried through the projection once mended (removed), skipped (kept for the audit)."""

from __future__ import annotations

import uuid
from pathlib import Path

from shared import deadletters
from shared.consumer import ConsumerRunner
from shared.readstore import ReadStore
from shared.transport import Message
from shared.transport.embedded import EmbeddedTransport
from tests.unit.test_consumer import TOPIC, Rows, msg


class Poisoned(Rows):
    name = "files.poisoned"


async def applied(store: ReadStore) -> list[str]:
    return [r["subject"] for r in await store.fetch("SELECT subject FROM test_rows ORDER BY subject")]


async def test_park_retry_and_skip(store: ReadStore, tmp_path: Path) -> None:
    projection = Poisoned()
    runner = ConsumerRunner(
        projection, EmbeddedTransport(tmp_path / "bus.sqlite"), store, attempts=2, retry_first=0
    )
    await runner.setup()
    good, bad, worse = sorted(str(uuid.uuid4()) for _ in range(3))
    projection.fail_on = bad
    assert await runner.take([msg(bad, 1, 0), msg(good, 1, 1)]) == 1
    projection.fail_on = worse
    assert await runner.take([msg(worse, 1, 2), Message(TOPIC, 0, 3, "k", b"\xff not json")]) == 0
    assert await runner.load_offsets() == {(TOPIC, 0): 4}
    open_ = await deadletters.letters(store, "files")
    assert [(r["subject"], r["attempts"], r["status"]) for r in open_] == [
        (bad, 2, "parked"),
        (worse, 2, "parked"),
        ("k", 1, "parked"),
    ]
    assert bytes(open_[2]["envelope"]) == b"\xff not json"  # the record's bytes, as they came
    assert deadletters.as_text(open_[0])["envelope"].startswith("{")
    assert runner.dead_letters == 3
    # A fresh runner (a restart) knows the letters still open.
    again = ConsumerRunner(projection, runner.transport, store)
    await again.setup()
    assert again.dead_letters == 3

    projection.fail_on = None
    first, second, record = (int(r["id"]) for r in open_)
    assert await deadletters.mark(store, "files", first, deadletters.RETRY)
    assert not await deadletters.mark(store, "identity", first, deadletters.RETRY)  # another service's
    assert await deadletters.mark(store, "files", second, deadletters.SKIPPED)
    assert await runner.serve_retries() == 1
    assert sorted(await applied(store)) == sorted([good, bad])
    assert runner.dead_letters == 1  # the record that is no event is still open
    assert [int(r["id"]) for r in await deadletters.letters(store, "files")] == [record]
    skipped = await deadletters.letter(store, "files", second)
    assert skipped is not None and skipped["status"] == "skipped" and skipped["resolved_at"]
    assert await deadletters.letter(store, "files", first) is None
