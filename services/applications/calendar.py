"""Working days on the Russian production calendar (public holidays, transferred days off
and working Saturdays), from the maintained ``holidays`` package; plus per-region extra
days off and extra working days as data; and the grid company's local date of a moment
(deadlines count in local dates, never UTC ones).

The package knows a year's transfers only once the government decrees them (each autumn for
the next year). Past the last decreed year it still answers, but from the bare weekday and
fixed-holiday rules, without even the ТК ст. 112 moves (06.11.2028 counts as working):
:meth:`WorkCalendar.beyond_data` says when a date is there, so callers can warn.
"""

from __future__ import annotations

import calendar as _calendar
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

import holidays

from shared.format import local, zone

Moment = datetime | date | str
"""A moment as services send it (ISO text, a datetime) or a calendar date."""


@lru_cache(maxsize=8)
def _russia(years: tuple[int, ...]) -> Any:
    return holidays.country_holidays("RU", years=years)


@lru_cache(maxsize=1)
def decreed_until() -> int:
    """The last year whose transfers the installed ``holidays`` release holds.

    Read from the package's own tables of decreed transfers and of extra days off
    (``RussiaStaticHolidays``): a year is covered when the maintainers entered its decree.
    Should a later release move those tables, the current year is taken: dates after it are
    then flagged, which errs on the side of a warning.
    """
    try:
        from holidays.countries.russia import RussiaStaticHolidays

        tables = (
            RussiaStaticHolidays.special_public_holidays,
            RussiaStaticHolidays.special_public_holidays_observed,
        )
        return max(year for table in tables for year in table)
    except (ImportError, AttributeError, ValueError):  # pragma: no cover - another layout
        return date.today().year


class WorkCalendar:
    def __init__(
        self,
        extra_days_off: frozenset[date] = frozenset(),
        extra_working_days: frozenset[date] = frozenset(),
        known_until: int | None = None,
    ) -> None:
        """``known_until``: the last year the calendar data covers, when an admin knows
        better than the package (e.g. after entering a new decree as extra days)."""
        self.extra_days_off = extra_days_off
        self.extra_working_days = extra_working_days
        self.known_until = known_until if known_until is not None else decreed_until()

    def beyond_data(self, day: date) -> bool:
        """Whether ``day`` falls in a year the calendar data does not cover."""
        return day.year > self.known_until

    def is_working_day(self, day: date) -> bool:
        if day in self.extra_days_off:
            return False
        if day in self.extra_working_days:
            return True
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

    def next_working_day(self, day: date) -> date:
        """``day`` itself when it is a working day, else the first working day after it."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    @staticmethod
    def add_months(start: date, months: int) -> date:
        month = start.month - 1 + months
        year = start.year + month // 12
        month = month % 12 + 1
        return date(year, month, min(start.day, _calendar.monthrange(year, month)[1]))

    def months_term(self, start: date, months: int) -> date:
        """The end of a term of ``months`` from ``start`` (ГК РФ ст. 192: the same day of the
        last month, or its last day), moved to the next working day when it is not one
        (ГК РФ ст. 193)."""
        return self.next_working_day(self.add_months(start, months))

    def due(self, start: date, rule: Mapping[str, int | None] | None) -> date | None:
        """The due date of a deadline rule ({"working_days": n} or {"months": n})."""
        if not rule:
            return None
        days, months = rule.get("working_days"), rule.get("months")
        if days is not None:
            return self.add_working_days(start, int(days))
        if months is not None:
            return self.months_term(start, int(months))
        return None


def local_day(value: Moment, tz: str | None = None) -> date:
    """The company's local date of a moment; a date (or an ISO date) stays what it is."""
    if isinstance(value, datetime):
        found = local(value, tz)
    elif isinstance(value, date):
        return value
    elif len(value.strip()) == 10:
        return date.fromisoformat(value.strip())
    else:
        found = local(value, tz)
    if found is None:
        raise ValueError(f"not a moment: {value!r}")
    return found.date()


def local_moment(value: Moment, tz: str | None) -> datetime:
    """A comparable moment (a bare date is its local midnight)."""
    if isinstance(value, datetime) or (isinstance(value, str) and len(value.strip()) > 10):
        found = local(value, tz)
        if found is not None:
            return found
    return datetime.combine(local_day(value, tz), time(), zone(tz))
