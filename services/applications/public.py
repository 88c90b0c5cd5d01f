"""Maps applications' domain events to the public events of ``applications.events``."""

from __future__ import annotations

from typing import Any

from services.applications.workflow import STATUS_TITLES
from shared.events import (
    ApplicationSubmittedV1,
    DocumentRef,
    DocumentsAddedV1,
    PublicEvent,
    StatusChangedV1,
)


def make_mapper(app: Any) -> Any:
    """A mapper bound to ``app``: later events carry the number and applicant, read from
    the aggregate as it stood at that event (events stay small, public ones complete)."""

    def mapper(event: Any) -> PublicEvent | None:
        kind = type(event).__qualname__
        if kind == "Application.Submitted":
            return ApplicationSubmittedV1(
                application_id=str(event.originator_id),
                number=event.number,
                applicant_id=event.applicant_id,
                applicant_email=event.applicant_email,
                applicant_name=event.applicant_name,
                type_code=event.type_code,
                type_title=event.type_title,
                power_kw=event.power_kw,
                object_address=event.object_address,
                documents=[DocumentRef(**d) for d in event.documents],
                due=event.due,
                contact_phone=event.contact_phone,
                contact_email=event.contact_email,
                comment=event.comment,
            )
        if kind not in ("Application.StatusChanged", "Application.DocumentsAdded"):
            return None  # catalog events stay internal
        claim = app.repository.get(event.originator_id, version=event.originator_version)
        if kind == "Application.StatusChanged":
            return StatusChangedV1(
                application_id=str(event.originator_id),
                number=claim.number,
                applicant_id=claim.applicant_id,
                applicant_email=claim.applicant_email,
                from_status=event.from_status,
                to_status=event.to_status,
                to_title=STATUS_TITLES[event.to_status],
                comment=event.comment,
                actor_id=event.actor_id,
                actor_role=event.actor_role,
                actor_name=event.actor_name,
                due=event.due,
            )
        return DocumentsAddedV1(
            application_id=str(event.originator_id),
            number=claim.number,
            applicant_id=claim.applicant_id,
            documents=[DocumentRef(**d) for d in event.documents],
            actor_id=event.actor_id,
        )

    return mapper
