"""Deadlines anchored on the recorded facts (services/applications/deadlines.py): the terms of
each power class and of 44-ФЗ buyers, local dates, the production calendar across the New Year
holidays (checked against the ``holidays`` data itself), month terms moved off non-working
days, the warning past the calendar data, and the watcher's reminders and overdue list."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import holidays
import pytest
from structlog.testing import capture_logs

from services.applications import deadlines as module
from services.applications.calendar import WorkCalendar
from services.applications.deadlines import (
    Deadline,
    PowerClass,
    Profile,
    current_deadlines,
    due_reminders,
    overdue,
)

TZ = "Europe/Moscow"
CATALOG = json.loads((Path(module.__file__).parent / "catalog.json").read_text())
RULES = {t["code"]: t["deadlines"] for t in CATALOG["types"]}
HOUSEHOLD = Profile(power_kw=12, individual=True, rules=RULES["individual_15kw"])
LARGE = Profile(power_kw=400, rules=RULES["legal_150_670kw"])


def msk(day: date, hour: int = 10) -> str:
    """A moment at ``hour`` Moscow time on ``day``, as events carry it (ISO, UTC)."""
    return datetime(day.year, day.month, day.day, hour - 3, tzinfo=UTC).isoformat()


def run(profile: Profile, facts: dict[str, Any], now: date, **options: Any) -> list[Deadline]:
    return current_deadlines(profile, facts, now, tz=TZ, **options)


def only(found: list[Deadline]) -> Deadline:
    assert len(found) == 1, found
    return found[0]


def official_working_days(start: date, end: date) -> list[date]:
    """The working days in (start, end] by the ``holidays`` data, asked directly."""
    data = holidays.country_holidays("RU", years=range(start.year, end.year + 1))
    days = (start + timedelta(days=n) for n in range(1, (end - start).days + 1))
    return [d for d in days if data.is_working_day(d)]


def test_the_completeness_check_skips_the_new_year_holidays() -> None:
    found = only(run(HOUSEHOLD, {"received": msk(date(2026, 12, 29))}, date(2026, 12, 29)))
    assert (found.code, found.duty, found.since) == ("completeness_check", "grid_company", date(2026, 12, 29))
    assert found.due == date(2027, 1, 12)  # 30.12, then 31.12 and 1–10.01 are off, 11.01, 12.01
    assert official_working_days(found.since, found.due) == [date(2026, 12, 30), date(2027, 1, 11), found.due]
    assert found.working_days_left == 3 and not found.overdue and not found.beyond_calendar


def test_a_fact_counts_from_the_companys_local_date() -> None:
    late = datetime(2026, 12, 29, 22, 30, tzinfo=UTC)  # 30.12 01:30 in Moscow
    found = only(run(HOUSEHOLD, {"received": late}, late))
    assert found.since == date(2026, 12, 30)
    assert found.due == date(2027, 1, 13)
    assert len(official_working_days(found.since, found.due)) == 3
    vladivostok = only(
        current_deadlines(HOUSEHOLD, {"received": "2026-12-29T13:30:00Z"}, late, tz="Asia/Vladivostok")
    )
    assert vladivostok.since == date(2026, 12, 29)  # 23:30 there


@pytest.mark.parametrize(
    ("concluded", "raw", "due"),
    [
        (date(2026, 10, 7), date(2027, 2, 7), date(2027, 2, 8)),  # a Sunday → Monday
        (date(2026, 10, 21), date(2027, 2, 21), date(2027, 2, 24)),  # Sunday, 22.02 moved off, 23.02
        (date(2026, 9, 10), date(2027, 1, 10), date(2027, 1, 11)),  # the end of the New Year holidays
    ],
)
def test_a_month_term_ending_on_a_non_working_day_moves_forward(
    concluded: date, raw: date, due: date
) -> None:
    facts = {"received": msk(concluded - timedelta(days=40)), "complete": msk(concluded - timedelta(days=30))}
    facts |= {"offer_placed": msk(concluded - timedelta(days=3)), "contract_concluded": msk(concluded)}
    found = only(run(HOUSEHOLD, facts, concluded, activities_term={"months": 4}))
    assert (found.code, found.duty) == ("activities", "grid_company")
    assert WorkCalendar.add_months(concluded, 4) == raw and raw.weekday() == 6
    assert found.due == due
    assert official_working_days(raw, due) == [due]  # the first working day after, by the data
    assert WorkCalendar().due(concluded, {"months": 4, "working_days": None}) == due  # as app.py asks


def test_without_a_term_in_the_offer_the_catalog_term_applies() -> None:
    facts = {"offer_placed": msk(date(2027, 3, 1)), "contract_concluded": msk(date(2027, 3, 2))}
    assert only(run(LARGE, facts, date(2027, 3, 2))).due == date(2027, 9, 2)  # 6 months of the type
    days = only(run(LARGE, facts, date(2027, 3, 2), activities_term={"working_days": 30}))
    assert len(official_working_days(date(2027, 3, 2), days.due)) == 30


@pytest.mark.parametrize(
    ("profile", "klass", "offer_days", "acceptance", "acceptance_days"),
    [
        (Profile(power_kw=15, individual=True), PowerClass.INDIVIDUAL_15, 10, "payment", 5),
        (Profile(power_kw=15), PowerClass.UP_TO_150, 10, "payment", 5),
        (Profile(power_kw=150, individual=True), PowerClass.UP_TO_150, 10, "payment", 5),
        (Profile(power_kw=150.5), PowerClass.UP_TO_670, 20, "signature", 10),
        (Profile(power_kw=670), PowerClass.FROM_670, 20, "signature", 10),
        (Profile(power_kw=5000), PowerClass.FROM_670, 20, "signature", 10),
    ],
)
def test_each_power_class(
    profile: Profile, klass: PowerClass, offer_days: int, acceptance: str, acceptance_days: int
) -> None:
    assert profile.power_class is klass
    complete = date(2027, 4, 1)
    offer = only(run(profile, {"received": msk(date(2027, 3, 30)), "complete": msk(complete)}, complete))
    assert (offer.code, offer.duty, offer.anchor) == ("offer", "grid_company", "complete")
    assert len(official_working_days(complete, offer.due)) == offer_days
    placed = date(2027, 4, 20)
    facts = {"complete": msk(complete), "offer_placed": msk(placed)}
    found = only(run(profile, facts, placed))
    assert (found.code, found.duty) == (acceptance, "applicant")
    assert len(official_working_days(placed, found.due)) == acceptance_days
    assert found.working_days_left == acceptance_days


def test_buyers_under_44_fz_pay_within_15_working_days() -> None:
    placed = date(2027, 4, 27)  # across the May holidays
    state = Profile(power_kw=100, state_buyer=True, rules=RULES["legal_150kw"])
    found = only(run(state, {"offer_placed": msk(placed)}, placed))
    assert (found.code, found.duty) == ("payment", "applicant")
    assert official_working_days(placed, found.due)[-1] == found.due
    assert len(official_working_days(placed, found.due)) == 15
    assert found.due == date(2027, 5, 20)  # 1–3.05 and 9–10.05 are off
    usual = only(
        run(Profile(power_kw=100, rules=RULES["legal_150kw"]), {"offer_placed": msk(placed)}, placed)
    )
    assert usual.due == date(2027, 5, 5)  # 28–30.04, then 4.05 and 5.05
    signs = only(run(Profile(power_kw=400, state_buyer=True), {"offer_placed": msk(placed)}, placed))
    assert signs.code == "signature" and len(official_working_days(placed, signs.due)) == 10
    forced = only(run(state, {"offer_placed": msk(placed)}, placed, needs_signature=True))
    assert forced.code == "signature" and len(official_working_days(placed, forced.due)) == 10


def test_missing_documents_stop_the_check_and_restart_the_offer_term() -> None:
    received, requested, uploaded = date(2027, 3, 1), date(2027, 3, 2), date(2027, 3, 15)
    facts = {"received": msk(received), "documents_requested": msk(requested)}
    wait = only(run(HOUSEHOLD, facts, requested))
    assert (wait.code, wait.duty) == ("documents", "applicant")
    assert len(official_working_days(requested, wait.due)) == 20
    facts["documents_received"] = msk(uploaded)
    offer = only(run(HOUSEHOLD, facts, uploaded))
    assert (offer.code, offer.anchor, offer.since) == ("offer", "documents_received", uploaded)
    assert len(official_working_days(uploaded, offer.due)) == 10
    again = [{"code": c, "title": "", "at": at} for c, at in facts.items()]
    again.append({"code": "documents_requested", "title": "", "at": msk(uploaded, 15)})
    second = only(current_deadlines(HOUSEHOLD, again, uploaded, tz=TZ))  # a list of milestones
    assert (second.code, second.since) == ("documents", uploaded)  # the latest request counts


def test_the_whole_process_step_by_step() -> None:
    steps = [
        ("received", ["completeness_check"]),
        ("complete", ["offer"]),
        ("offer_placed", ["payment"]),
        ("contract_concluded", ["activities"]),
        ("tu_notice_received", ["tu_check", "activities"]),
        ("tu_checked", ["activities"]),
        ("connected", ["closing_documents"]),
        ("voltage_applied", ["closing_documents"]),
        ("closing_documents_placed", []),
    ]
    facts: dict[str, Any] = {}
    day = date(2027, 3, 1)
    for code, expected in steps:
        facts[code] = msk(day)
        found = run(HOUSEHOLD, facts, day, activities_term={"months": 4})
        assert [d.code for d in found] == expected, code
        day += timedelta(days=7)
    tu_check = run(HOUSEHOLD, {"tu_notice_received": msk(date(2027, 6, 1))}, date(2027, 6, 1))
    assert len(official_working_days(date(2027, 6, 1), only(tu_check).due)) == 10  # the catalog target
    targets = {"tu_check": {"working_days": 7}, "acts": {"working_days": 2}}
    plain = Profile(power_kw=100)  # no catalog rules: the settings' targets, then the defaults
    assert only(run(plain, {"tu_notice_received": msk(day)}, day, targets=targets)).due == (
        WorkCalendar().add_working_days(day, 7)
    )
    closing = only(run(plain, {"tu_checked": msk(day), "connected": msk(day)}, day))
    assert closing.due == WorkCalendar().add_working_days(day, 5)


def test_the_closing_documents_are_named_by_class_and_voltage() -> None:
    facts = {"tu_checked": msk(date(2027, 6, 1)), "connected": msk(date(2027, 6, 2))}
    notice = only(run(HOUSEHOLD, facts, date(2027, 6, 2)))
    assert notice.title.startswith("Разместить уведомление об обеспечении возможности присоединения")
    assert notice.since == date(2027, 6, 2)
    assert (
        "акт об осуществлении"
        in only(run(Profile(power_kw=100, voltage_kv=10), facts, date(2027, 6, 2))).title
    )
    assert "уведомление" in only(run(Profile(power_kw=100, voltage_kv=0.4), facts, date(2027, 6, 2))).title
    assert "акт об осуществлении" in only(run(LARGE, facts, date(2027, 6, 2))).title


def test_a_due_date_past_the_calendar_data_is_flagged_and_logged_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(module, "_WARNED", set())
    calendar = WorkCalendar()
    assert calendar.known_until == 2027  # the last year of decreed transfers in the package
    data = holidays.country_holidays("RU", years=2028)
    assert data.is_working_day(date(2028, 11, 6))  # no ТК ст. 112 move for 04.11.2028 (a Saturday)
    concluded = date(2027, 12, 6)
    facts = {"contract_concluded": msk(concluded)}
    with capture_logs() as logs:
        first = only(run(LARGE, facts, concluded, activities_term={"months": 12}))
        again = only(run(LARGE, facts, concluded, activities_term={"months": 12}))
    assert first.beyond_calendar and again.beyond_calendar and first.due == date(2028, 12, 6)
    assert first.as_dict()["beyond_calendar"] is True
    warned = [e for e in logs if e["event"] == "deadline_past_calendar_data"]
    assert len(warned) == 1 and warned[0]["log_level"] == "warning"
    assert warned[0]["due"] == "2028-12-06" and warned[0]["calendar_known_until"] == 2027
    within = only(run(LARGE, facts, concluded, activities_term={"months": 6}))
    assert within.due == date(2028, 6, 6) and within.beyond_calendar  # 2028 is past the data too
    inside = only(run(HOUSEHOLD, {"received": msk(date(2027, 12, 27))}, date(2027, 12, 27)))
    assert inside.due == date(2027, 12, 30) and not inside.beyond_calendar
    vouched = run(
        LARGE, facts, concluded, activities_term={"months": 12}, calendar=WorkCalendar(known_until=2028)
    )
    assert not only(vouched).beyond_calendar  # an admin entered 2028


def test_reminders_two_working_days_before_the_applicants_deadline() -> None:
    placed = date(2027, 3, 1)
    facts = {"received": msk(date(2027, 2, 1)), "offer_placed": msk(placed)}
    payment = only(run(HOUSEHOLD, facts, placed))
    assert payment.due == date(2027, 3, 9)  # 08.03 is off
    assert due_reminders([payment], date(2027, 3, 3), calendar=WorkCalendar()) == []
    reminded = only(due_reminders([payment], datetime(2027, 3, 4, 12, tzinfo=UTC), tz=TZ))
    assert reminded.working_days_left == 2 and reminded.key == "payment:2027-03-01"
    assert only(due_reminders([payment], date(2027, 3, 6))).working_days_left == 1  # a Saturday: Mon off
    assert only(due_reminders([payment], date(2027, 3, 9))).working_days_left == 0  # the day itself
    assert due_reminders([payment], date(2027, 3, 10)) == []  # passed: not a reminder
    check = only(run(HOUSEHOLD, {"received": msk(placed)}, placed))
    assert due_reminders([check], check.due) == []  # the grid company's deadline is not reminded


def test_overdue_lists_the_grid_companys_deadlines_passed_in_local_time() -> None:
    check = only(run(HOUSEHOLD, {"received": msk(date(2026, 12, 29))}, date(2026, 12, 29)))
    assert check.due == date(2027, 1, 12)
    assert overdue([check], datetime(2027, 1, 12, 20, 59, tzinfo=UTC), tz=TZ) == []  # 23:59 in Moscow
    late = only(overdue([check], datetime(2027, 1, 12, 21, 30, tzinfo=UTC), tz=TZ))  # 13.01 00:30
    assert late.overdue and late.working_days_left == -1
    assert only(run(HOUSEHOLD, {"received": msk(date(2026, 12, 29))}, date(2027, 1, 14))).overdue
    wait = only(run(HOUSEHOLD, {"documents_requested": msk(date(2027, 1, 11))}, date(2027, 1, 11)))
    assert overdue([wait, check], date(2027, 6, 1)) == [check.at(date(2027, 6, 1), WorkCalendar())]


def test_the_api_shape() -> None:
    found = only(run(HOUSEHOLD, {"received": msk(date(2027, 3, 1))}, date(2027, 3, 2)))
    body = found.as_dict()
    assert {k: body[k] for k in ("code", "due", "duty", "working_days_left", "overdue")} == {
        "code": "completeness_check",
        "due": "2027-03-04",
        "duty": "grid_company",
        "working_days_left": 2,
        "overdue": False,
    }
    assert body["title"] == "Проверить комплектность заявки"
    json.dumps(body)
    facts = {"received": msk(date(2027, 3, 1))}
    for status in ("annulled", "completed"):  # a closed application has no deadline
        assert run(HOUSEHOLD, facts, date(2027, 3, 2), status=status) == []
    assert run(HOUSEHOLD, facts, date(2027, 3, 2), status="submitted") == [found]


def test_admins_days_off_and_working_days() -> None:
    calendar = WorkCalendar(frozenset({date(2027, 3, 2)}), frozenset({date(2027, 3, 6)}))
    found = only(run(HOUSEHOLD, {"received": msk(date(2027, 3, 1))}, date(2027, 3, 1), calendar=calendar))
    assert found.due == date(2027, 3, 5)  # 03.03, 04.03, 05.03; 02.03 is a regional day off
    assert calendar.add_working_days(date(2027, 3, 5), 1) == date(2027, 3, 6)  # a working Saturday


def test_a_payment_dated_the_day_the_offer_was_placed_ends_the_payment_term() -> None:
    """The contract's conclusion is a bare date (the payment's): its midnight is before the
    offer placed that morning, yet the day is all it says, so the term to pay is over."""
    offered = date(2026, 12, 2)
    facts = {
        "complete": msk(date(2026, 12, 1)),
        "offer_placed": msk(offered),
        "contract_concluded": "2026-12-02",
    }
    found = run(HOUSEHOLD, facts, date(2026, 12, 3), activities_term={"months": 4})
    assert [d.code for d in found] == ["activities"]
    early = {**facts, "contract_concluded": "2026-12-01"}  # a day before the offer: not an answer to it
    assert "payment" in [
        d.code for d in run(HOUSEHOLD, early, date(2026, 12, 3), activities_term={"months": 4})
    ]
