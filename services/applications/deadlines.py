"""The legal deadlines of a grid connection anchored on the recorded facts (issue 12,
../shared/DOMAIN.md): who must act, by when; pure functions of the application's profile, its
dated milestones and "now". Dates are the company's local dates (``LK_TIME_ZONE``: a fact of
22:30 UTC on 29.12 counts from 30.12 in Moscow); N working days end on the N-th working day
after the anchor (ГК РФ ст. 191), a month term on the same day of the last month, moved to the
next working day (ГК РФ ст. 193). Terms are data: the type's catalog rules (keyed by status, as
in catalog.json), then ``targets`` (company-wide, from the settings), then ``DEFAULTS`` (the
Rules' table); the 15 working days of 44-ФЗ buyers and the offer's activities term always win.
A due date in a year the calendar data does not cover is flagged (``beyond_calendar``) and
logged once per such year. ``title`` is an infinitive read after «сетевая организация обязана
до …» / «вам нужно до …»: the pages add those words by ``duty``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

import structlog

from services.applications.calendar import Moment, WorkCalendar, local_day, local_moment
from shared.statuses import FINAL

Duty = Literal["grid_company", "applicant"]
GRID: Duty = "grid_company"
APPLICANT: Duty = "applicant"
Now = datetime | date
Rule = Mapping[str, int]
"""A term: ``{"working_days": n}`` or ``{"months": n}``."""

# The milestones in the order a grid connection records them.
_ORDER = """received documents_requested documents_received complete offer_placed contract_concluded
tu_notice_received tu_checked connected voltage_applied closing_documents_placed"""
MILESTONES: tuple[str, ...] = tuple(_ORDER.split())

# Terms when neither the catalog nor the settings give one: the Rules' table (DOMAIN.md marks
# the [u] ones as data to verify) and the internal targets of the check and the acts.
DEFAULTS: dict[str, Rule] = {
    "submitted": {"working_days": 3},
    "needs_documents": {"working_days": 20},
    "in_work_small": {"working_days": 10},
    "in_work": {"working_days": 20},
    "payment": {"working_days": 5},
    "signature": {"working_days": 10},
    "tu_check": {"working_days": 10},
    "acts": {"working_days": 5},
}
STATE_BUYER_PAYMENT: Rule = {"working_days": 15}  # 44-ФЗ, state defence orders [v]

TITLES: dict[str, str] = {
    "completeness_check": "Проверить комплектность заявки",
    "documents": "Представить недостающие документы, иначе заявка будет аннулирована",
    "offer": "Разместить договор, технические условия и счёт",
    "payment": "Оплатить счёт: оплата означает заключение договора",
    "signature": "Подписать договор или направить мотивированный отказ",
    "activities": "Выполнить мероприятия по технологическому присоединению",
    "tu_check": "Проверить выполнение технических условий",
    "closing_notice": "Разместить уведомление об обеспечении возможности присоединения и акт о допуске прибора учёта",
    "closing_act": "Разместить акт об осуществлении технологического присоединения и акт о допуске прибора учёта",
}


class PowerClass(StrEnum):
    INDIVIDUAL_15 = "individual_15"  # a household up to 15 kW: ≤0,4 kV, III category
    UP_TO_150 = "up_to_150"
    UP_TO_670 = "150_670"  # over 150 and under 670 kW
    FROM_670 = "from_670"  # 670 kW belongs to the top class


def power_class(power_kw: float, individual: bool = False) -> PowerClass:
    if power_kw <= 15 and individual:
        return PowerClass.INDIVIDUAL_15
    if power_kw <= 150:
        return PowerClass.UP_TO_150
    return PowerClass.UP_TO_670 if power_kw < 670 else PowerClass.FROM_670


@dataclass(frozen=True)
class Profile:
    """What the terms depend on: the power, the applicant's kind, the type's catalog rules."""

    power_kw: float
    individual: bool = False
    state_buyer: bool = False  # a buyer under 44-ФЗ
    rules: Mapping[str, Rule] = field(default_factory=dict)  # the type's catalog "deadlines"
    voltage_kv: float | None = None

    @property
    def power_class(self) -> PowerClass:
        return power_class(self.power_kw, self.individual)

    @property
    def small(self) -> bool:
        """Up to 150 kW: a shorter offer term, and the offer is accepted by payment."""
        return self.power_class in (PowerClass.INDIVIDUAL_15, PowerClass.UP_TO_150)

    @property
    def closing_by_notice(self) -> bool:
        """≤150 kW at ≤0,4 kV closes with the notice (Приложение № 1(1)), else the act."""
        if self.voltage_kv is None:  # a household up to 15 kW is at ≤0,4 kV
            return self.power_class is PowerClass.INDIVIDUAL_15
        return self.small and self.voltage_kv <= 0.4


@dataclass(frozen=True)
class Deadline:
    """One current deadline; ``key`` names it for a watcher's exactly-once records."""

    code: str
    title: str
    duty: Duty
    anchor: str  # the milestone it runs from
    since: date  # that milestone's local date
    due: date
    working_days_left: int
    overdue: bool
    beyond_calendar: bool = False

    @property
    def key(self) -> str:
        return f"{self.code}:{self.since.isoformat()}"

    def at(self, today: date, calendar: WorkCalendar) -> Deadline:
        """The same deadline seen on another day."""
        left = calendar.working_days_between(today, self.due)
        return replace(self, working_days_left=left, overdue=today > self.due)

    def as_dict(self) -> dict[str, Any]:
        """The API's shape (``GET /api/v1/applications/{id}`` → ``deadlines``)."""
        return {**asdict(self), "due": self.due.isoformat(), "since": self.since.isoformat()}


Facts = Mapping[str, Moment] | Iterable[Mapping[str, Any]]
"""``{code: at}``, or milestones as the API lists them (``[{code, title, at}]``)."""


def _recorded(facts: Facts, tz: str | None) -> dict[str, tuple[datetime, date, bool]]:
    """The latest moment and local date of each milestone (a bare date, as a payment's or a
    connection's, is its local midnight: :func:`_ends` compares it by the day)."""
    pairs: Iterable[tuple[str, Moment]] = (
        facts.items() if isinstance(facts, Mapping) else ((str(f["code"]), f["at"]) for f in facts)
    )
    found: dict[str, tuple[datetime, date, bool]] = {}
    for code, at in pairs:
        if at is None or at == "":
            continue
        moment = local_moment(at, tz)
        bare = not isinstance(at, datetime) and (isinstance(at, date) or len(str(at).strip()) <= 10)
        if code not in found or moment > found[code][0]:
            found[code] = (moment, local_day(at, tz), bare)
    return found


def _ends(end: tuple[datetime, date, bool], start: datetime) -> bool:
    """Whether a fact recorded at ``end`` ends a step that started at ``start``: at or after it;
    a fact of a bare date (its midnight) on the day the step started or later, since the day is
    all it says (a payment dated the day the offer was placed ends the payment's term)."""
    moment, day, bare = end
    return moment >= start or (bare and day >= start.date())


def _after(code: str) -> tuple[str, ...]:
    return MILESTONES[MILESTONES.index(code) + 1 :]


@dataclass(frozen=True)
class _Step:
    code: str
    duty: Duty
    starts: tuple[str, ...]  # it runs from the latest of these
    ends: tuple[str, ...]  # any of these recorded at or after the start ends it
    requires: tuple[str, ...] = ()


_CONNECTION = ("connected", "voltage_applied", "closing_documents_placed")
STEPS: tuple[_Step, ...] = (
    _Step("completeness_check", GRID, ("received",), _after("received")),
    _Step("documents", APPLICANT, ("documents_requested",), _after("documents_requested")),
    # Complete on the check, or on the upload of the missing documents; a new request stops it.
    _Step("offer", GRID, ("complete", "documents_received"), ("documents_requested", *_after("complete"))),
    _Step("acceptance", APPLICANT, ("offer_placed",), _after("offer_placed")),
    _Step("activities", GRID, ("contract_concluded",), _CONNECTION),
    _Step("tu_check", GRID, ("tu_notice_received",), _after("tu_notice_received")),
    # From the check passed and the connection recorded, whichever came last.
    _Step("closing_documents", GRID, ("tu_checked", *_CONNECTION[:2]), _CONNECTION[2:], ("connected",)),
)


def _term(
    step: str, profile: Profile, targets: Mapping[str, Rule], needs_signature: bool, activities: Rule | None
) -> tuple[str, str, Rule | None]:
    """The deadline's code, its title and its term."""

    def pick(key: str, default: str | None = None) -> Rule | None:
        return profile.rules.get(key) or targets.get(key) or DEFAULTS.get(default or key)

    if step == "completeness_check":
        return step, TITLES[step], pick("submitted")
    if step == "documents":
        return step, TITLES[step], pick("needs_documents")
    if step == "offer":
        return step, TITLES[step], pick("in_work", "in_work_small" if profile.small else "in_work")
    if step == "acceptance" and needs_signature:
        # The catalog's "contract" term of a type above 150 kW is its signature term.
        rule = None if profile.small else profile.rules.get("contract")
        return "signature", TITLES["signature"], rule or DEFAULTS["signature"]
    if step == "acceptance":
        rule = profile.rules.get("contract") if profile.small else None
        rule = STATE_BUYER_PAYMENT if profile.state_buyer else rule or DEFAULTS["payment"]
        return "payment", TITLES["payment"], rule
    if step == "activities":
        return step, TITLES[step], activities or profile.rules.get("activities")
    if step == "tu_check":
        return step, TITLES[step], pick("tu_check")
    title = TITLES["closing_notice" if profile.closing_by_notice else "closing_act"]
    return step, title, pick("acts")


_WARNED: set[int] = set()
_WARNED_LOCK = threading.Lock()


def _warn_beyond(calendar: WorkCalendar, deadline: Deadline) -> None:
    """Once per process and year: a due date the production calendar cannot vouch for."""
    with _WARNED_LOCK:
        if deadline.due.year in _WARNED:
            return
        _WARNED.add(deadline.due.year)
    structlog.get_logger(__name__).warning(
        "deadline_past_calendar_data",
        due=deadline.due.isoformat(),
        deadline=deadline.code,
        calendar_known_until=calendar.known_until,
        hint="update the holidays package or enter the year's days off and working days",
    )


def current_deadlines(
    profile: Profile,
    facts: Facts,
    now: Now,
    *,
    activities_term: Rule | None = None,
    needs_signature: bool | None = None,
    targets: Mapping[str, Rule] | None = None,
    calendar: WorkCalendar | None = None,
    tz: str | None = None,
    status: str | None = None,
) -> list[Deadline]:
    """The deadlines running at ``now``, by due date (none once ``status`` is final).

    ``facts``: the recorded milestones with their moments (the latest of each code counts);
    ``activities_term``: the offer's term ({"months": n} | {"working_days": n});
    ``needs_signature``: whether the offer is signed rather than paid (default: above 150 kW);
    ``targets``: company-wide terms from the settings, keyed like the catalog's rules.
    """
    if status in FINAL:
        return []
    calendar = calendar or WorkCalendar()
    today = local_day(now, tz)
    signs = (not profile.small) if needs_signature is None else needs_signature
    recorded = _recorded(facts, tz)
    found: list[Deadline] = []
    for step in STEPS:
        starts = [recorded[c] for c in step.starts if c in recorded]
        if not starts or any(c not in recorded for c in step.requires):
            continue
        start, since, _ = max(starts)
        if any(_ends(recorded[c], start) for c in step.ends if c in recorded):
            continue
        code, title, rule = _term(step.code, profile, targets or {}, signs, activities_term)
        due = calendar.due(since, rule)
        if due is None:
            continue
        anchor = next(c for c in step.starts if c in recorded and recorded[c][0] == start)
        beyond = calendar.beyond_data(due)
        deadline = Deadline(code, title, step.duty, anchor, since, due, 0, False, beyond).at(today, calendar)
        if beyond:
            _warn_beyond(calendar, deadline)
        found.append(deadline)
    return sorted(found, key=lambda d: (d.due, MILESTONES.index(d.anchor)))


def due_reminders(
    deadlines: Iterable[Deadline],
    now: Now,
    *,
    within: int = 2,
    calendar: WorkCalendar | None = None,
    tz: str | None = None,
) -> list[Deadline]:
    """The applicant's deadlines ``within`` working days or fewer away and not passed, seen at
    ``now``. A watcher that missed the exact day still reminds; it records each ``key`` once."""
    calendar = calendar or WorkCalendar()
    today = local_day(now, tz)
    seen = [d.at(today, calendar) for d in deadlines if d.duty == APPLICANT]
    return [d for d in seen if not d.overdue and d.working_days_left <= within]


def overdue(
    deadlines: Iterable[Deadline], now: Now, *, calendar: WorkCalendar | None = None, tz: str | None = None
) -> list[Deadline]:
    """The grid company's deadlines passed at ``now`` (the due day itself still counts)."""
    calendar = calendar or WorkCalendar()
    today = local_day(now, tz)
    return [d.at(today, calendar) for d in deadlines if d.duty == GRID and today > d.due]
