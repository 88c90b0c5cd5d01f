"""The chat's directory waits for a reference row on the projection's progress — this process's
batches, or a look at the store every ``poll`` when another replica applies the stream — and a
caller who may not open an application waits exactly as for one that does not exist (issue 9,
8a; issue 15).

Driven with a fake clock and a fake store: the test advances the clock (which ends the
directory's pauses) and announces the projection's batches itself, or not, so the waits are
observed (when each answer came, how many look-ups it made), never timed."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from services.chat.projections import Directory
from services.chat.usecases import Target, find_target
from shared.auth import Principal
from shared.errors import DomainError

STEP = 0.25  # fake seconds between two batches of the references projection


class FakeStore:
    """``chat_ref_applications`` / ``chat_ref_files`` rows by id, counting every look-up."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.lookups: Counter[str] = Counter()

    async def fetchrow(self, sql: str, *args: Any) -> dict[str, Any] | None:
        self.lookups[args[0]] += 1
        return self.rows.get(args[0])


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self._moved = asyncio.Event()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self._moved.set()
        self._moved = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        until = self.now + seconds
        while self.now < until:
            await self._moved.wait()


def consumer(account_id: str) -> Principal:
    return Principal(account_id, uuid.uuid4().hex, "consumer", ("consumer",))


def staff() -> Principal:
    return Principal(str(uuid.uuid4()), uuid.uuid4().hex, "staff", ("staff",))


async def run(
    directory: Directory,
    clock: FakeClock,
    calls: dict[str, Awaitable[Any]],
    on_step: Callable[[float], None] = lambda now: None,
    batches: bool = True,
) -> dict[str, tuple[Any, float]]:
    """Run ``calls`` together; the clock moves by STEP, then this process's runner announces a
    batch (unless ``batches`` is false: another replica applies the stream). Each call's
    outcome (its result or the DomainError it raised) with the fake time it came at."""
    start = clock.now

    async def timed(call: Awaitable[Any]) -> tuple[Any, float]:
        try:
            result: Any = await call
        except DomainError as exc:
            result = exc
        return result, clock.now - start

    tasks = {name: asyncio.create_task(timed(call)) for name, call in calls.items()}
    for _ in range(200):
        for _ in range(20):  # let every waiter look its row up
            await asyncio.sleep(0)
        if all(t.done() for t in tasks.values()):
            break
        clock.advance(STEP)
        on_step(clock.now - start)
        if batches:
            directory.progressed()
    return {name: task.result() for name, task in tasks.items()}


def world() -> tuple[FakeStore, FakeClock, Directory]:
    store, clock = FakeStore(), FakeClock()
    directory = Directory(store, clock=clock, sleep=clock.sleep)  # type: ignore[arg-type]
    assert directory.poll < STEP  # every step of the clock ends a pause
    return store, clock, directory


@pytest.mark.parametrize("batches", [True, False], ids=["batches_here", "applied_elsewhere"])
def test_someone_elses_application_waits_like_an_unknown_one(batches: bool) -> None:
    store, clock, directory = world()
    anna, boris = str(uuid.uuid4()), str(uuid.uuid4())
    annas, unknown = str(uuid.uuid4()), str(uuid.uuid4())
    store.rows[annas] = {"applicant_id": anna, "number": "ТП-2026-000001"}

    async def scenario() -> dict[str, tuple[Any, float]]:
        # Anna opens hers at once: it is memoised, as it is in a running service.
        opened = await find_target(directory, annas, consumer(anna))
        assert isinstance(opened, Target) and opened.applicant_id == anna
        store.lookups.clear()
        return await run(
            directory,
            clock,
            {
                "foreign": find_target(directory, annas, consumer(boris)),
                "unknown": find_target(directory, unknown, consumer(boris)),
            },
            batches=batches,
        )

    outcome = asyncio.run(scenario())
    (foreign, foreign_at), (missing, missing_at) = outcome["foreign"], outcome["unknown"]
    assert isinstance(foreign, DomainError) and isinstance(missing, DomainError)
    assert (foreign.status, foreign.code, foreign.message) == (missing.status, missing.code, missing.message)
    assert foreign.status == 404
    # The same wait: both answered when the patience ran out, not before ...
    assert foreign_at == missing_at >= directory.patience
    # ... and the same work: the row looked up once, then after every batch or pause, in both cases.
    assert store.lookups[annas] == store.lookups[unknown] == 1 + int(directory.patience / STEP)


@pytest.mark.parametrize("batches", [True, False], ids=["batches_here", "applied_elsewhere"])
def test_the_owner_of_a_just_filed_application_gets_in_as_soon_as_its_row_lands(batches: bool) -> None:
    store, clock, directory = world()
    anna, filed = str(uuid.uuid4()), str(uuid.uuid4())
    lands_at = 2 * STEP

    def land(now: float) -> None:
        if now >= lands_at:
            store.rows[filed] = {"applicant_id": anna, "number": "ТП-2026-000002"}

    async def scenario() -> dict[str, tuple[Any, float]]:
        return await run(
            directory,
            clock,
            {
                "owner": find_target(directory, filed, consumer(anna)),
                "staff": find_target(directory, filed, staff()),
            },
            on_step=land,
            batches=batches,
        )

    outcome = asyncio.run(scenario())
    for name in ("owner", "staff"):
        target, at = outcome[name]
        assert isinstance(target, Target) and target.number == "ТП-2026-000002", name
        # Woken by the batch that brought the row, or by the next look at the store.
        assert at == lands_at < directory.patience
    assert store.lookups[filed] == 2 * (1 + int(lands_at / STEP))  # one look per batch or pause


def test_someone_elses_file_waits_like_an_unknown_one() -> None:
    store, clock, directory = world()
    anna, boris = str(uuid.uuid4()), str(uuid.uuid4())
    mine, borrowed, unknown = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    for file_id, owner in ((mine, anna), (borrowed, boris)):
        store.rows[file_id] = {
            "owner_id": owner,
            "name": "план.pdf",
            "size": 10,
            "content_type": "application/pdf",
        }

    async def scenario() -> dict[str, tuple[Any, float]]:
        return await run(
            directory,
            clock,
            {
                "mine": directory.files(anna, [mine]),
                "borrowed": directory.files(anna, [mine, borrowed]),
                "unknown": directory.files(anna, [mine, unknown]),
            },
        )

    outcome = asyncio.run(scenario())
    assert outcome["mine"] == (
        [{"id": mine, "name": "план.pdf", "size": 10, "content_type": "application/pdf"}],
        0.0,
    )
    assert outcome["borrowed"][0] is None and outcome["unknown"][0] is None
    assert outcome["borrowed"][1] == outcome["unknown"][1] >= directory.patience
    assert store.lookups[borrowed] == store.lookups[unknown] == 1 + int(directory.patience / STEP)
