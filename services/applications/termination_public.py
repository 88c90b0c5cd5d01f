"""The termination's domain events (termination.py) → ``TerminationRequested.v1`` and
``TerminationDecided.v1``, declared on the service's event map by public.make_mapper."""

from __future__ import annotations

from collections.abc import Callable

from services.applications.domain import Application
from shared.events import DocumentRef
from shared.mapping import EventMap
from shared.process_events import TerminationDecidedV1, TerminationRequestedV1


def termination_events(events: EventMap, at: Callable[[Application.Event], Application]) -> None:
    """Declare the termination's events; ``at`` gives the application as it stood at an event."""

    @events.public(Application.TerminationRequested, to=TerminationRequestedV1)
    def requested(event: Application.TerminationRequested) -> TerminationRequestedV1:
        claim = at(event)
        return TerminationRequestedV1(
            application_id=str(event.originator_id),
            number=claim.number,
            applicant_id=claim.applicant_id,
            applicant_email=claim.applicant_email,
            reason=event.reason,
            refund_details=event.refund_details,
            documents=[DocumentRef(**d) for d in event.documents],
            actor_id=event.actor_id,
        )

    @events.public(Application.TerminationDecided, to=TerminationDecidedV1)
    def decided(event: Application.TerminationDecided) -> TerminationDecidedV1:
        claim = at(event)
        return TerminationDecidedV1(
            application_id=str(event.originator_id),
            number=claim.number,
            applicant_id=claim.applicant_id,
            applicant_email=claim.applicant_email,
            accepted=event.accepted,
            comment=event.comment,
            actor_id=event.actor_id,
            actor_name=event.actor_name,
        )
