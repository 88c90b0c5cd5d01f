"""Building the event store's application at start-up: services starting together on one
fresh PostgreSQL database race creating their tables; the loser tries again (shared/runtime.py)."""

from __future__ import annotations

import pytest
from eventsourcing.persistence import IntegrityError, InternalError

from shared.runtime import construct


def failing(*errors: Exception) -> tuple[list[int], object]:
    calls: list[int] = []

    def factory() -> str:
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return "built"

    return calls, factory


async def test_a_catalog_race_is_tried_again() -> None:
    calls, factory = failing(
        InternalError("tuple concurrently updated"), IntegrityError("duplicate key pg_type")
    )
    assert await construct(factory) == "built"  # type: ignore[arg-type]
    assert len(calls) == 3


async def test_any_other_internal_error_is_raised_at_once() -> None:
    calls, factory = failing(InternalError("out of shared memory"))
    with pytest.raises(InternalError):
        await construct(factory)  # type: ignore[arg-type]
    assert len(calls) == 1
