"""Applications' domain events → the public events of ``applications.events``.

A status change or added documents names its application's number and applicant, read from
the aggregate as it stood at that event (events stay small, public ones complete): the map
is made around the application's history (:func:`make_mapper`, bound by the runtime).
``EVENTS`` is the map as declared, for the checks of shared/topology.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from services.applications.domain import Application, ApplicationType, Catalog
from services.applications.fees.domain import FeeIndex, FeeSchedule
from services.applications.signature import MAX_FAILURES
from services.applications.steps import KINDS
from services.applications.termination_public import termination_events
from services.applications.watch_public import watch_events
from shared.events import ApplicationSubmittedV1, DocumentRef, DocumentsAddedV1, StatusChangedV1
from shared.idempotency import IdempotencyRecord
from shared.mapping import EventMap
from shared.process_events import (
    ApplicationAssignedV1,
    CompanyDocumentPlacedV1,
    ConnectionRecordedV1,
    ContractConcludedV1,
    NoticeReceivedV1,
    OfferPlacedV1,
    OfferRefusedV1,
    PaymentRecordedV1,
    SignatureCodeFailedV1,
    SignatureCodeIssuedV1,
    SignatureV1,
)
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
        FeeSchedule.Defined,
        FeeSchedule.Updated,
        FeeIndex.Created,
        FeeIndex.ScheduleAdded,
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
            **structured(event.request or {}),
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

    _process(events, history)
    watch_events(events, lambda e: history.at_version(e.originator_id, e.originator_version))
    termination_events(events, lambda e: history.at_version(e.originator_id, e.originator_version))
    return events


def structured(request: dict[str, Any]) -> dict[str, Any]:
    """The public part of the structured application (shared/events.py says what stays out)."""
    if not request:
        return {}
    applicant = request.get("applicant") or {}
    kept = ("object_name", "cadastral_number", "connection_kind", "previous_power_kw", "voltage_kv")
    return {
        **{k: request[k] for k in kept},
        "reliability_category": request["reliability_category"],
        "payment_option": request["payment_option"],
        "applicant_kind": applicant.get("kind", ""),
        "applicant_inn": applicant.get("inn", ""),
        "applicant_ogrn": applicant.get("ogrn") or applicant.get("ogrnip") or "",
        "organisation_name": applicant.get("organisation_name", ""),
        "by_representative": request.get("representative") is not None,
    }


def _process(events: EventMap, history: History) -> None:
    """The facts of the process (issue 12), each naming its application and applicant."""

    def at(event: Application.Event) -> Application:
        return history.at_version(event.originator_id, event.originator_version)

    @events.public(Application.OfferPlaced, to=OfferPlacedV1)
    def offer_placed(event: Application.OfferPlaced) -> OfferPlacedV1:
        claim = at(event)
        return OfferPlacedV1(
            application_id=str(event.originator_id),
            number=claim.number,
            applicant_id=claim.applicant_id,
            applicant_email=claim.applicant_email,
            documents=[DocumentRef(**event.contract), DocumentRef(**event.technical_conditions)],
            amount_kopecks=event.amount_kopecks,
            invoice_due=event.invoice_due,
            activities_months=event.term.get("months"),
            activities_working_days=event.term.get("working_days"),
            needs_signature=event.needs_signature,
            actor_id=event.actor_id,
            actor_name=event.actor_name,
            state_buyer=event.state_buyer,
        )

    @events.public(Application.PaymentRecorded, to=PaymentRecordedV1)
    def payment_recorded(event: Application.PaymentRecorded) -> PaymentRecordedV1:
        claim = at(event)
        return PaymentRecordedV1(
            application_id=str(event.originator_id),
            number=claim.number,
            applicant_id=claim.applicant_id,
            amount_kopecks=event.amount_kopecks,
            paid_at=event.paid_at,
            reference=event.reference,
            paid_kopecks=claim.paid_kopecks,
            invoice_kopecks=int(claim.offer["amount_kopecks"]) if claim.offer else 0,
            actor_id=event.actor_id,
            source=event.source,
        )

    @events.public(Application.OfferRefused, to=OfferRefusedV1)
    def offer_refused(event: Application.OfferRefused) -> OfferRefusedV1:
        claim = at(event)
        return OfferRefusedV1(
            application_id=str(event.originator_id),
            number=claim.number,
            applicant_id=claim.applicant_id,
            comment=event.comment,
            actor_id=event.actor_id,
        )

    @events.public(Application.ContractConcluded, to=ContractConcludedV1)
    def contract_concluded(event: Application.ContractConcluded) -> ContractConcludedV1:
        claim = at(event)
        return ContractConcludedV1(
            application_id=str(event.originator_id),
            number=claim.number,
            applicant_id=claim.applicant_id,
            applicant_email=claim.applicant_email,
            by=event.by,
            concluded_on=event.on,
            actor_id=event.actor_id,
            signature=SignatureV1.model_validate(event.signature) if event.signature else None,
        )

    @events.public(Application.NoticeReceived, to=NoticeReceivedV1)
    def notice_received(event: Application.NoticeReceived) -> NoticeReceivedV1:
        claim = at(event)
        return NoticeReceivedV1(
            application_id=str(event.originator_id),
            number=claim.number,
            applicant_id=claim.applicant_id,
            kind=event.kind,
            documents=[DocumentRef(**d) for d in event.documents],
            actor_id=event.actor_id,
        )

    @events.public(Application.ConnectionRecorded, to=ConnectionRecordedV1)
    def connection_recorded(event: Application.ConnectionRecorded) -> ConnectionRecordedV1:
        claim = at(event)
        return ConnectionRecordedV1(
            application_id=str(event.originator_id),
            number=claim.number,
            applicant_id=claim.applicant_id,
            connected_at=event.connected_at,
            voltage_applied_at=event.voltage_applied_at,
            actor_id=event.actor_id,
        )

    @events.public(Application.CompanyDocumentPlaced, to=CompanyDocumentPlacedV1)
    def company_document_placed(event: Application.CompanyDocumentPlaced) -> CompanyDocumentPlacedV1:
        claim = at(event)
        return CompanyDocumentPlacedV1(
            application_id=str(event.originator_id),
            number=claim.number,
            applicant_id=claim.applicant_id,
            applicant_email=claim.applicant_email,
            document_id=event.document_id,
            kind=event.kind,
            title=KINDS[event.kind],
            documents=[DocumentRef(slot=event.kind, file_id=event.file_id, name=event.name)],
            actor_id=event.actor_id,
            actor_name=event.actor_name,
        )

    _signature(events, at)
    _assignment(events, at)


def _signature(events: EventMap, at: Callable[[Application.Event], Application]) -> None:
    """The challenges of the simple electronic signature (signature.py): never a code."""

    @events.public(Application.SignatureCodeIssued, to=SignatureCodeIssuedV1)
    def code_issued(event: Application.SignatureCodeIssued) -> SignatureCodeIssuedV1:
        claim = at(event)
        return SignatureCodeIssuedV1(
            application_id=str(event.originator_id),
            number=claim.number,
            applicant_id=claim.applicant_id,
            applicant_email=claim.applicant_email,
            challenge_id=event.challenge_id,
            document=DocumentRef(**event.document),
            document_sha256=event.document_sha256,
            expires_at=datetime.fromisoformat(event.expires_at),
            actor_id=event.actor_id,
        )

    @events.public(Application.SignatureCodeFailed, to=SignatureCodeFailedV1)
    def code_failed(event: Application.SignatureCodeFailed) -> SignatureCodeFailedV1:
        claim = at(event)
        spent = claim.signature_challenge
        failures = int(spent["failures"]) if spent and spent["challenge_id"] == event.challenge_id else 0
        return SignatureCodeFailedV1(
            application_id=str(event.originator_id),
            number=claim.number,
            applicant_id=claim.applicant_id,
            challenge_id=event.challenge_id,
            attempts_left=max(MAX_FAILURES - failures, 0),
            actor_id=event.actor_id,
        )


def _assignment(events: EventMap, at: Callable[[Application.Event], Application]) -> None:
    """«Взять в работу»: who of the staff handles the application (assignment.py)."""

    @events.public(Application.Assigned, to=ApplicationAssignedV1)
    def assigned(event: Application.Assigned) -> ApplicationAssignedV1:
        claim = at(event)
        return ApplicationAssignedV1(
            application_id=str(event.originator_id),
            number=claim.number,
            applicant_id=claim.applicant_id,
            assignee_id=event.assignee_id,
            assignee_name=event.assignee_name,
            actor_id=event.actor_id,
        )


EVENTS = make_mapper(_Unbound())
