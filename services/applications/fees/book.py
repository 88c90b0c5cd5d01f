"""The fee schedules of one applications process: seeded once from fees.json, edited by
admins, held in memory (the eventsourcing application saves them)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from services.applications.fees.checks import field_error
from services.applications.fees.domain import FeeIndex, FeeSchedule
from services.applications.fees.model import Schedule
from shared.application import ServiceApplication

FEES_FILE = Path(__file__).parents[1] / "fees.json"


def unknown_region(region: str) -> Exception:
    return field_error("unknown_region", "region", f"Для региона «{region}» ставки платы за ТП не заданы.")


class FeeBook:
    def __init__(self, app: ServiceApplication) -> None:
        self.app = app
        self.schedules: dict[tuple[str, int], Schedule] = {}

    def seed(self) -> None:
        """Define the seed schedules once; load every schedule into memory."""
        seed = json.loads(FEES_FILE.read_text(encoding="utf-8"))
        index = self.app.find(FeeIndex.create_id(), FeeIndex) or FeeIndex()
        fresh: list[Any] = []
        for item in seed["schedules"]:
            schedule = Schedule.model_validate(item)
            if not index.has(schedule.region, schedule.year):
                index.add(region=schedule.region, year=schedule.year)
                fresh.append(FeeSchedule(region=schedule.region, year=schedule.year, data=item))
        if fresh:
            self.app.commit(index, *fresh)
        for region, year in index.keys:
            found = self.app.find(FeeSchedule.create_id(region, year), FeeSchedule)
            if found is not None:
                self.schedules[(region, year)] = Schedule.model_validate(found.data)

    def put(self, schedule: Schedule, actor_id: str) -> Schedule:
        """Create or replace the schedule of its region and year (admins)."""
        data = schedule.model_dump(mode="json")
        index = self.app.find(FeeIndex.create_id(), FeeIndex) or FeeIndex()
        if index.has(schedule.region, schedule.year):
            found = self.app.find(FeeSchedule.create_id(schedule.region, schedule.year), FeeSchedule)
            assert found is not None, "an indexed schedule is defined"
            found.update(data=data, actor_id=actor_id)
            self.app.commit(found)
        else:
            index.add(region=schedule.region, year=schedule.year)
            self.app.commit(index, FeeSchedule(region=schedule.region, year=schedule.year, data=data))
        self.schedules[(schedule.region, schedule.year)] = schedule
        return schedule

    def get(self, region: str, year: int) -> Schedule | None:
        return self.schedules.get((region, year))

    def for_year(self, region: str, year: int) -> Schedule:
        """The region's schedule for ``year``, else its latest earlier one (the estimate says
        which year it used; before the first, the first); a region without schedules is refused at the field."""
        years = [y for r, y in self.schedules if r == region]
        if not years:
            raise unknown_region(region)
        earlier = [y for y in years if y <= year]
        return self.schedules[(region, max(earlier) if earlier else min(years))]

    def regions(self) -> list[dict[str, Any]]:
        return [
            {"region": s.region, "year": s.year, "title": s.title}
            for s in sorted(self.schedules.values(), key=lambda s: (s.title, s.year))
        ]
