"""The fee schedules' write model: one aggregate per region and year, and the index of them
(so that admins can add a region or a year). The event classes' names are part of the stored
events' topics, so they never change."""

from __future__ import annotations

import uuid
from typing import Any

from eventsourcing.domain import Aggregate, event

_NS = uuid.UUID("0c7d3a52-3f0e-4b8e-9a55-1f3c2b6d7e90")


class FeeSchedule(Aggregate):
    """The fees of one region for one year (the data of fees/model.py:Schedule)."""

    class Defined(Aggregate.Created):
        region: str
        year: int
        data: dict[str, Any]

    class Updated(Aggregate.Event):
        data: dict[str, Any]
        actor_id: str

    @staticmethod
    def create_id(region: str, year: int) -> uuid.UUID:
        return uuid.uuid5(_NS, f"fees:{region}:{year}")

    @event(Defined)
    def __init__(self, *, region: str, year: int, data: dict[str, Any]) -> None:
        self.region = region
        self.year = year
        self.data = data

    @event(Updated)
    def update(self, data: dict[str, Any], actor_id: str) -> None:
        self.data = data


class FeeIndex(Aggregate):
    """Which (region, year) schedules exist."""

    class Created(Aggregate.Created):
        pass

    class ScheduleAdded(Aggregate.Event):
        region: str
        year: int

    @staticmethod
    def create_id() -> uuid.UUID:
        return uuid.UUID("6f2b9d41-8c3a-4e17-b0d2-5a9e7c1f3b28")

    @event(Created)
    def __init__(self) -> None:
        self.keys: list[list[Any]] = []

    @event(ScheduleAdded)
    def add(self, region: str, year: int) -> None:
        self.keys.append([region, year])

    def has(self, region: str, year: int) -> bool:
        return [region, year] in self.keys
