"""Applications' domain events → the public events of ``applications.events``.

A status change or added documents names its application's number and applicant, read from
the aggregate as it stood at that event (events stay small, public ones complete): the map
is made around the application's history (:func:`make_mapper`, bound by the runtime).
``EVENTS`` is the map as declared, for the checks of shared/topology.py.
"""

from __future__ import annotations

import uuid
from typing import Protocol

from services.applications.domain import Application, ApplicationType, Catalog
from shared.events import ApplicationSubmittedV1, DocumentRef, DocumentsAddedV1, StatusChangedV1
from shared.idempotency import IdempotencyRecord
from shared.mapping import EventMap
from shared.statuses import TITLES


class History(Protocol):
    def at_version(self, application_id: uuid.UUID, version: int) -> Application: ...


class _Unbound:
    def at_version(self, application_id: uuid.UUID, version: int) -> Application:
        raise LookupError("the declared map reads no history: bind it with make_mapper(app)")


def make_mapper(history: History) -> EventMap:
    """The service's event map, reading earlier states from ``history`` (the application)."""
    events = EventMap()
    events.internal(
        ApplicationType.Defined,
        ApplicationType.Updated,
        Catalog.Created,
        Catalog.TypeAdded,
        IdempotencyRecord.Recorded,
    )

    @events.public(Application.Submitted, to=ApplicationSubmittedV1)
    def submitted(event: Application.Submitted) -> ApplicationSubmittedV1:
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

    @events.public(Application.StatusChanged, to=StatusChangedV1)
    def status_changed(event: Application.StatusChanged) -> StatusChangedV1:
        claim = history.at_version(event.originator_id, event.originator_version)
        return StatusChangedV1(
            application_id=str(event.originator_id),
            number=claim.number,
            applicant_id=claim.applicant_id,
            applicant_email=claim.applicant_email,
            from_status=event.from_status,
            to_status=event.to_status,
            to_title=TITLES[event.to_status],
            comment=event.comment,
            actor_id=event.actor_id,
            actor_role=event.actor_role,
            actor_name=event.actor_name,
            due=event.due,
        )

    @events.public(Application.DocumentsAdded, to=DocumentsAddedV1)
    def documents_added(event: Application.DocumentsAdded) -> DocumentsAddedV1:
        claim = history.at_version(event.originator_id, event.originator_version)
        return DocumentsAddedV1(
            application_id=str(event.originator_id),
            number=claim.number,
            applicant_id=claim.applicant_id,
            documents=[DocumentRef(**d) for d in event.documents],
            actor_id=event.actor_id,
        )

    return events


EVENTS = make_mapper(_Unbound())
