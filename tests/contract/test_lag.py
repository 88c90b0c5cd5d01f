"""Lag on each transport and read store: a consumer that is not running falls behind by what
is published; once it applies, its lag is 0 on every partition (shared/lag.py)."""

from __future__ import annotations

import uuid

from shared.consumer import ConsumerRunner
from shared.lag import stored_lags
from shared.readstore import ReadStore
from shared.settings import Settings
from shared.transport import Transport
from tests.contract.conftest import Reader
from tests.unit.test_consumer import Rows, msg


class Directory(Rows):
    name = "identity.directory"  # a declared consumer: its topics come from shared/topology.py


async def test_a_stopped_consumer_lags_by_what_was_published(
    transport: Transport, store: ReadStore, prefix: str
) -> None:
    settings = Settings(topic_prefix=prefix)
    topic = settings.topic("identity")
    subjects = [str(uuid.uuid4()) for _ in range(7)]
    await transport.publish(topic, [(s, msg(s, 1, 0, topic=topic).value) for s in subjects])
    projection = Directory()
    projection.topics = (topic,)
    runner = ConsumerRunner(projection, transport, store)
    await runner.setup()

    ends = await transport.end_offsets([topic])
    before = await stored_lags(settings, "identity", store, ends)
    assert {r.consumer for r in before} == {"identity.directory"}
    assert sum(r.lag for r in before) == 7 and all(r.next_offset == 0 for r in before)
    assert {r.topic for r in before} == {topic}

    reader = Reader(transport, [topic], {})
    try:
        await reader.until(lambda got: len(got) >= 7)
    finally:
        await reader.close()
    assert await runner.apply_batch(reader.messages) == 7
    after = await stored_lags(settings, "identity", store, await transport.end_offsets([topic]))
    assert [r.lag for r in after] == [0] * len(after) and sum(r.end_offset for r in after) == 7
    # Listed under its own service only (a shared database holds every service's offsets).
    assert not [r for r in await stored_lags(settings, "files", store, ends) if r.consumer == projection.name]
