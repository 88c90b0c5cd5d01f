"""The deadline watcher's domain events → their public events (``DeadlineReminded.v1``,
``DeadlineOverdue.v1``), each naming the application, its applicant and the deadline's title,
declared on the service's event map by public.make_mapper."""

from __future__ import annotations

from collections.abc import Callable

from services.applications.deadlines import TITLES, Profile
from services.applications.domain import Application
from shared.mapping import EventMap
from shared.process_events import DeadlineOverdueV1, DeadlineRemindedV1


def title(code: str, claim: Application) -> str:
    """The deadline's title as deadlines.py gives it (the closing one depends on the profile)."""
    if code in TITLES:
        return TITLES[code]
    profile = Profile(power_kw=claim.power_kw, individual=claim.type_code.startswith("individual"))
    return TITLES["closing_notice" if profile.closing_by_notice else "closing_act"]


def watch_events(events: EventMap, at: Callable[[Application.Event], Application]) -> None:
    """Declare the watcher's events; ``at`` gives the application as it stood at an event."""

    @events.public(Application.DeadlineReminded, to=DeadlineRemindedV1)
    def reminded(event: Application.DeadlineReminded) -> DeadlineRemindedV1:
        claim = at(event)
        return DeadlineRemindedV1(
            application_id=str(event.originator_id),
            number=claim.number,
            applicant_id=claim.applicant_id,
            applicant_email=claim.applicant_email,
            code=event.code,
            title=title(event.code, claim),
            due=event.due,
        )

    @events.public(Application.DeadlineOverdue, to=DeadlineOverdueV1)
    def overdue(event: Application.DeadlineOverdue) -> DeadlineOverdueV1:
        claim = at(event)
        return DeadlineOverdueV1(
            application_id=str(event.originator_id),
            number=claim.number,
            applicant_id=claim.applicant_id,
            applicant_email=claim.applicant_email,
            code=event.code,
            title=title(event.code, claim),
            due=event.due,
        )
