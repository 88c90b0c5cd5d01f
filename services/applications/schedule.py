"""An application's deadlines as the API shows them (``GET /api/v1/applications/{id}`` →
``deadlines``) and the invoice's due date, both from :func:`deadlines.current_deadlines`: the
application's profile (its type's catalog rules and applicant kind, its power, a 44-ФЗ buyer),
its dated milestones, the offer (the activities term, signature or payment) and "now" from the
service's injected clock, in the company's time zone on the production calendar.

The invoice says what the payment deadline says: :func:`acceptance_due` is that deadline of an
offer placed at a moment, used when the offer is recorded and whenever the invoice is shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from services.applications.calendar import Moment, WorkCalendar, local_moment
from services.applications.deadlines import Profile, current_deadlines

INDIVIDUAL = "individual"


def is_individual(type_code: str, kind: Mapping[str, Any]) -> bool:
    """Whether the type is for individuals only: its ``applicant_kinds`` when the catalog gives
    them (issue 13 adds them), else its code (``individual_15kw``)."""
    kinds = kind.get("applicant_kinds")
    if kinds:
        return set(kinds) == {INDIVIDUAL}
    return type_code.startswith(INDIVIDUAL + "_")


def profile_of(
    type_code: str, kind: Mapping[str, Any], power_kw: float, state_buyer: bool = False
) -> Profile:
    """What the terms depend on, for an application of ``type_code`` (its catalog ``kind``)."""
    return Profile(
        power_kw=float(power_kw),
        individual=is_individual(type_code, kind),
        state_buyer=state_buyer,
        rules=dict(kind.get("deadlines") or {}),
    )


def acceptance_due(
    profile: Profile, placed: Moment, *, needs_signature: bool, calendar: WorkCalendar, tz: str
) -> date | None:
    """The day the applicant is to pay (or sign) an offer placed at ``placed`` by: 5 working
    days for ≤150 kW (the type's «contract» term), 15 for a 44-ФЗ buyer, the signature term
    for an offer that is signed."""
    at = local_moment(placed, tz)
    found = current_deadlines(
        profile, {"offer_placed": at}, at, needs_signature=needs_signature, calendar=calendar, tz=tz
    )
    return found[0].due if found else None


def dated(milestones: Iterable[Mapping[str, Any]], tz: str) -> list[dict[str, Any]]:
    """The milestones (in the order recorded) as comparable moments, none before a fact recorded
    earlier. A fact given as a date (the conclusion on the day of payment, the connection)
    would count from that day's midnight: a payment dated the day the offer was placed would
    come before the offer and leave its payment deadline running."""
    out: list[dict[str, Any]] = []
    floor: datetime | None = None
    for mark in milestones:
        at = local_moment(mark["at"], tz)
        if floor is not None and at < floor:
            at = floor  # (a date before the offer's day then counts from the offer's day)
        floor = at
        out.append({"code": mark["code"], "at": at})
    return out


def latest(milestones: Iterable[Mapping[str, Any]], code: str) -> Any:
    """When the last ``code`` milestone was recorded (None if never)."""
    found = [m["at"] for m in milestones if m["code"] == code]
    return found[-1] if found else None


def deadlines_of(
    row: Mapping[str, Any],
    kind: Mapping[str, Any],
    facts: Mapping[str, Any],
    now: datetime,
    *,
    calendar: WorkCalendar,
    tz: str,
) -> list[dict[str, Any]]:
    """The running deadlines of the application ``row`` (type_code, power_kw, status) with its
    process ``facts`` (milestones, offer), seen at ``now``; none once completed or annulled.
    Each: code, title, due, duty, working_days_left, overdue, beyond_calendar, anchor, since."""
    offer = facts.get("offer") or {}
    profile = profile_of(row["type_code"], kind, row["power_kw"], bool(offer.get("state_buyer")))
    found = current_deadlines(
        profile,
        dated(facts.get("milestones", []), tz),
        now,
        activities_term=offer.get("activities_term"),
        needs_signature=offer.get("needs_signature"),
        calendar=calendar,
        tz=tz,
        status=row["status"],
    )
    return [d.as_dict() for d in found]


def invoice_due(
    row: Mapping[str, Any],
    kind: Mapping[str, Any],
    facts: Mapping[str, Any],
    *,
    calendar: WorkCalendar,
    tz: str,
) -> date | None:
    """The invoice's due date: the payment (or signature) deadline of the latest offer."""
    offer, placed = facts.get("offer"), latest(dated(facts.get("milestones", []), tz), "offer_placed")
    if not offer or placed is None:
        return None
    profile = profile_of(row["type_code"], kind, row["power_kw"], bool(offer.get("state_buyer")))
    return acceptance_due(
        profile, placed, needs_signature=bool(offer["needs_signature"]), calendar=calendar, tz=tz
    )
