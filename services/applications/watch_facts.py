"""The facts the deadline watcher judges an application by, read from the application's own
stored events (not from a view that may lag): its dated milestones as the process view
(projections/process.py) records them from the public events, its profile, and the offer's
terms. Decisions taken on them are saved on top of that very version, so a command that came
in between makes the save fail (optimistic concurrency) instead of acting on stale facts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from services.applications.deadlines import Profile, Rule
from services.applications.domain import Application
from services.applications.steps import CLOSING
from shared.format import zone

Mark = dict[str, Any]  # {"code": milestone, "at": moment (datetime or ISO date)}


def _from_status(event: Application.StatusChanged) -> str | None:
    if event.to_status == "in_work" and event.from_status in ("submitted", "needs_documents"):
        return "complete"
    if event.to_status == "needs_documents":
        return "documents_requested"
    if event.from_status == "tu_check" and event.to_status == "acts":
        return "tu_checked"
    return None


def on_day(day: str, recorded: datetime, tz: str | None = None) -> datetime:
    """A fact dated ``day`` (a payment's, a connection's date) at the time of day it was
    recorded: a bare date would count as its midnight, before the offer placed that same day,
    and so would not end the deadline it answers."""
    return datetime.combine(date.fromisoformat(day), recorded.astimezone(zone(tz)).timetz())


def milestones(events: Iterable[Any], tz: str | None = None) -> list[Mark]:
    """The dated milestones of one application's events, in order."""
    marks: list[Mark] = []
    connected_just_before = False
    for e in events:
        at: datetime = e.timestamp
        found: list[tuple[str, Any]] = []
        if isinstance(e, Application.Submitted):
            found.append(("received", at))
        elif isinstance(e, Application.StatusChanged):
            code = _from_status(e)
            if code and not (code == "tu_checked" and connected_just_before):
                found.append((code, at))
        elif isinstance(e, Application.DocumentsAdded):
            found.append(("documents_received", at))
        elif isinstance(e, Application.OfferPlaced):
            found.append(("offer_placed", at))
        elif isinstance(e, Application.ContractConcluded):
            found.append(("contract_concluded", on_day(e.on, at, tz)))
        elif isinstance(e, Application.NoticeReceived):
            found.append(("tu_notice_received", at))
        elif isinstance(e, Application.ConnectionRecorded):
            found += [
                ("tu_checked", at),
                ("connected", e.connected_at),
                ("voltage_applied", e.voltage_applied_at),
            ]
        elif isinstance(e, Application.CompanyDocumentPlaced) and e.kind in CLOSING:
            found.append(("closing_documents_placed", at))
        connected_just_before = isinstance(e, Application.ConnectionRecorded)
        marks += [{"code": code, "at": when} for code, when in found]
    return marks


@dataclass(frozen=True)
class Watched:
    """One application as the watcher sees it at one version."""

    claim: Application
    marks: list[Mark]
    profile: Profile
    activities_term: Rule | None
    needs_signature: bool | None


def replay(events: Sequence[Any]) -> Application:
    """The aggregate from its events (the version the decisions are saved on)."""
    claim: Any = None
    for e in events:
        claim = e.mutate(claim)
    assert isinstance(claim, Application)
    return claim


def watched(events: Sequence[Any], types: Mapping[str, Mapping[str, Any]], tz: str | None = None) -> Watched:
    """The application of ``events`` with its milestones, profile (power, kind, the type's
    catalog deadlines) and offer terms."""
    claim = replay(events)
    kind = types.get(claim.type_code, {})
    profile = Profile(
        power_kw=claim.power_kw,
        individual=claim.type_code.startswith("individual"),
        rules=dict(kind.get("deadlines", {})),
    )
    offer = claim.offer or {}
    term = offer.get("term")
    signs = offer.get("needs_signature")
    return Watched(claim, milestones(events, tz), profile, term, None if signs is None else bool(signs))
