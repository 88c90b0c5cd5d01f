"""Applications' write model: the catalog's application types and the applications. Event
classes' names are part of the stored events' topics (``…domain:Application.StatusChanged``),
so they never change. An application's methods check the workflow before they record anything.
"""

from __future__ import annotations

import uuid
from typing import Any

from eventsourcing.domain import Aggregate, event

from services.applications.actor import Actor
from services.applications.assignment import Assignment
from services.applications.deadline_steps import DeadlineSteps
from services.applications.moves import StatusMoves
from services.applications.rules import Document, Submission, TypeData
from services.applications.signature import SignatureSteps
from services.applications.steps import ProcessSteps
from services.applications.termination import TerminationSteps

_NS = uuid.UUID("5d0c6f0e-7a49-4c55-9f35-6a3e2f8b1c44")


class ApplicationType(Aggregate):
    """One entry of the catalog: term, procedure, payment, checklist, deadlines (data)."""

    class Defined(Aggregate.Created):
        code: str
        data: dict[str, Any]

    class Updated(Aggregate.Event):
        data: dict[str, Any]
        actor_id: str

    @staticmethod
    def create_id(code: str) -> uuid.UUID:
        return uuid.uuid5(_NS, "type:" + code)

    @event(Defined)
    def __init__(self, *, code: str, data: dict[str, Any]) -> None:
        self.code = code
        self.data = data
        self.by_seed = True  # no admin has edited it: the seed may upgrade it (catalog.py)

    @event(Updated)
    def update(self, data: dict[str, Any], actor_id: str) -> None:
        self.data = data
        self.by_seed = actor_id == "seed"


class Catalog(Aggregate):
    """The list of type codes, so that new types can be added through the API."""

    class Created(Aggregate.Created):
        pass

    class TypeAdded(Aggregate.Event):
        code: str

    @staticmethod
    def create_id() -> uuid.UUID:
        return uuid.UUID("8b1f0e7c-0d1a-4f59-b1c1-7b0f3c6a9e11")

    @event(Created)
    def __init__(self) -> None:
        self.codes: list[str] = []

    @event(TypeAdded)
    def add(self, code: str) -> None:
        self.codes.append(code)


class Application(
    StatusMoves, ProcessSteps, SignatureSteps, DeadlineSteps, Assignment, TerminationSteps, Aggregate
):
    """A grid-connection application (заявка на ТП), its status history and the facts of the
    process that drive the status: the plain moves in moves.py, the process in steps.py."""

    class Submitted(Aggregate.Created):
        number: str
        applicant_id: str
        applicant_email: str
        applicant_name: str
        type_code: str
        type_title: str
        power_kw: float
        object_address: str
        contact_phone: str
        contact_email: str
        comment: str
        documents: list[Document]
        due: str | None
        request: dict[str, Any] | None = None  # issue 13's structured fields (None before)

    class StatusChanged(Aggregate.Event):
        from_status: str
        to_status: str
        comment: str
        actor_id: str
        actor_role: str
        actor_name: str
        due: str | None

    class DocumentsAdded(Aggregate.Event):
        documents: list[Document]
        actor_id: str

    class OfferPlaced(Aggregate.Event):
        contract: Document  # slot offer_contract, file_id, name
        technical_conditions: Document
        amount_kopecks: int
        term: dict[str, int]  # {"months": n} | {"working_days": n}
        needs_signature: bool
        invoice_due: str | None
        actor_id: str
        actor_name: str
        state_buyer: bool = False  # a buyer under 44-ФЗ (stored offers before it: False)

    class PaymentRecorded(Aggregate.Event):
        amount_kopecks: int
        paid_at: str
        reference: str
        actor_id: str
        source: str = "api"  # api | statement (the payment port's adapter); later field

    class OfferRefused(Aggregate.Event):
        comment: str
        actor_id: str

    class ContractConcluded(Aggregate.Event):
        by: str  # payment | signature
        on: str
        actor_id: str
        signature: dict[str, str] | None = None  # by signature: signature.Signed (absent before)

    class NoticeReceived(Aggregate.Event):
        kind: str
        documents: list[Document]
        actor_id: str

    class ConnectionRecorded(Aggregate.Event):
        connected_at: str
        voltage_applied_at: str
        actor_id: str

    class CompanyDocumentPlaced(Aggregate.Event):
        document_id: str
        kind: str
        file_id: str
        name: str
        actor_id: str
        actor_name: str

    @event(Submitted)
    def __init__(
        self,
        *,
        number: str,
        applicant_id: str,
        applicant_email: str,
        applicant_name: str,
        type_code: str,
        type_title: str,
        power_kw: float,
        object_address: str,
        contact_phone: str,
        contact_email: str,
        comment: str,
        documents: list[Document],
        due: str | None,
        request: dict[str, Any] | None = None,
    ) -> None:
        self.number = number
        self.applicant_id = applicant_id
        self.applicant_email = applicant_email
        self.applicant_name = applicant_name
        self.type_code = type_code
        self.type_title = type_title
        self.power_kw = power_kw
        self.object_address = object_address
        self.contact_phone = contact_phone
        self.contact_email = contact_email
        self.comment = comment
        self.documents = list(documents)
        self.request = request or {}
        self.status = "submitted"
        self.due = due
        self.offer: dict[str, Any] | None = None
        self.payments: dict[str, int] = {}  # reference → kopecks
        self.refused = False
        self.concluded = False
        self.connected = False
        self.company_documents: dict[str, Document] = {}  # id → kind, file_id
        self.watched: set[str] = set()  # the deadline watcher's notices: "reminded:<code>:<due>" …

    @classmethod
    def file(
        cls, actor: Actor, kind: TypeData, number: str, form: Submission, due: str | None, request: Any = None
    ) -> Application:
        """The application ``actor`` files under a checked type and request (rules.py)."""
        return cls(
            number=number,
            applicant_id=actor.account_id,
            applicant_email=actor.email,
            applicant_name=actor.name,
            type_code=form.type_code,
            type_title=kind["title"],
            power_kw=form.power_kw,
            object_address=form.object_address,
            contact_phone=form.contact_phone,
            contact_email=form.contact_email,
            comment=form.comment,
            documents=form.documents,
            due=due,
            request=request,
        )

    def _changed(self, actor: Actor, to_status: str, comment: str, due: str | None) -> None:
        self._status_changed(
            from_status=self.status,
            to_status=to_status,
            comment=comment,
            actor_id=actor.account_id,
            actor_role=actor.role,
            actor_name=actor.name,
            due=due,
        )

    @event(StatusChanged)
    def _status_changed(
        self,
        from_status: str,
        to_status: str,
        comment: str,
        actor_id: str,
        actor_role: str,
        actor_name: str,
        due: str | None,
    ) -> None:
        self.status = to_status
        self.due = due

    @event(DocumentsAdded)
    def _documents_added(self, documents: list[Document], actor_id: str) -> None:
        self.documents.extend(documents)

    @event(OfferPlaced)
    def _offer_placed(
        self,
        contract: Document,
        technical_conditions: Document,
        amount_kopecks: int,
        term: dict[str, int],
        needs_signature: bool,
        invoice_due: str | None,
        actor_id: str,
        actor_name: str,
        state_buyer: bool = False,
    ) -> None:
        self.offer = {
            "amount_kopecks": amount_kopecks,
            "term": term,
            "needs_signature": needs_signature,
            "state_buyer": state_buyer,
        }
        self.refused = False
        self.contract = contract  # what a signature signs (signature.py)
        self.signature_challenge = None  # a new offer voids a code issued for the last one

    @event(PaymentRecorded)
    def _payment_recorded(
        self, amount_kopecks: int, paid_at: str, reference: str, actor_id: str, source: str = "api"
    ) -> None:
        self.payments[reference] = amount_kopecks

    @event(OfferRefused)
    def _offer_refused(self, comment: str, actor_id: str) -> None:
        self.refused = True

    @event(ContractConcluded)
    def _contract_concluded(self, by: str, on: str, actor_id: str) -> None:
        self.concluded = True

    @event(NoticeReceived)
    def _notice_received(self, kind: str, documents: list[Document], actor_id: str) -> None:
        self.documents.extend(documents)

    @event(ConnectionRecorded)
    def _connection_recorded(self, connected_at: str, voltage_applied_at: str, actor_id: str) -> None:
        self.connected = True

    @event(CompanyDocumentPlaced)
    def _company_document_placed(
        self, document_id: str, kind: str, file_id: str, name: str, actor_id: str, actor_name: str
    ) -> None:
        self.company_documents[document_id] = {"kind": kind, "file_id": file_id}


AGGREGATES = (ApplicationType, Catalog, Application)
