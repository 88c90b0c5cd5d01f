"""Working days on the Russian production calendar (public holidays, transferred days off
and working Saturdays), from the maintained ``holidays`` package; plus per-region extra
days off as data."""

from __future__ import annotations

import calendar as _calendar
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import holidays


@lru_cache(maxsize=8)
def _russia(years: tuple[int, ...]) -> Any:
    return holidays.country_holidays("RU", years=years)


class WorkCalendar:
    def __init__(self, extra_days_off: frozenset[date] = frozenset()) -> None:
        self.extra_days_off = extra_days_off

    def is_working_day(self, day: date) -> bool:
        if day in self.extra_days_off:
            return False
        years = (day.year - 1, day.year, day.year + 1)
        return bool(_russia(years).is_working_day(day))

    def add_working_days(self, start: date, count: int) -> date:
        """The ``count``-th working day after ``start``."""
        day = start
        left = count
        while left > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; negative when ``end`` is before ``start``."""
        if end < start:
            return -self.working_days_between(end, start)
        return sum(
            1 for n in range(1, (end - start).days + 1) if self.is_working_day(start + timedelta(days=n))
        )

    @staticmethod
    def add_months(start: date, months: int) -> date:
        month = start.month - 1 + months
        year = start.year + month // 12
        month = month % 12 + 1
        return date(year, month, min(start.day, _calendar.monthrange(year, month)[1]))

    def due(self, start: date, rule: dict[str, int] | None) -> date | None:
        """The due date of a deadline rule ({"working_days": n} or {"months": n})."""
        if not rule:
            return None
        if "working_days" in rule:
            return self.add_working_days(start, int(rule["working_days"]))
        if "months" in rule:
            return self.add_months(start, int(rule["months"]))
        return None
