"""Applications' write model: the catalog's application types and the applications.

The event classes are declared on the aggregates; their names are part of the stored events'
topics (``services.applications.domain:Application.StatusChanged``), so they never change.
An application's methods check the workflow before they record anything.
"""

from __future__ import annotations

import uuid
from typing import Any

from eventsourcing.domain import Aggregate, event

from services.applications.actor import Actor
from services.applications.rules import Document, Submission, TypeData, check_documents
from services.applications.workflow import STAFF, Verdict, judge
from shared.errors import Conflict, Forbidden, Invalid
from shared.statuses import TITLES

_NS = uuid.UUID("5d0c6f0e-7a49-4c55-9f35-6a3e2f8b1c44")
WITHDRAWN = "Заявка отозвана заявителем."
DOCUMENTS_RECEIVED = "Заявитель добавил документы: заявка снова в работе, срок этапа — с даты их получения."


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

    @event(Updated)
    def update(self, data: dict[str, Any], actor_id: str) -> None:
        self.data = data


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


class Application(Aggregate):
    """A grid-connection application (заявка на ТП) and its status history."""

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
        self.status = "submitted"
        self.due = due

    @classmethod
    def file(
        cls, actor: Actor, kind: TypeData, number: str, form: Submission, due: str | None
    ) -> Application:
        """The application ``actor`` files under a checked type (rules.check_submission)."""
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
        )

    def visible_to(self, actor: Actor) -> bool:
        """Staff see every application, an applicant only their own."""
        return actor.role == STAFF or self.applicant_id == actor.account_id

    def move(self, actor: Actor, to_status: str, comment: str, due: str | None) -> None:
        """Change the status as the workflow allows ``actor`` (workflow.judge): staff give a
        reason to annul or to ask for documents; the applicant's annulment is a withdrawal."""
        if to_status not in TITLES:
            raise Invalid("unknown_status", "Неизвестный статус.")
        verdict = judge(actor.role, self.status, to_status)
        if verdict is Verdict.NOT_YOUR_ROLE:
            raise Forbidden("forbidden", "Менять статус заявки может только сотрудник сетевой организации.")
        if verdict is Verdict.NOT_FROM_HERE:
            raise Conflict(
                "transition_not_allowed",
                f"Из статуса «{TITLES[self.status]}» нельзя перейти в «{TITLES[to_status]}».",
            )
        reason = comment.strip()
        if to_status == "annulled" and not reason:
            if actor.role == STAFF:
                raise Invalid("reason_required", "Укажите причину аннулирования заявки.")
            reason = WITHDRAWN
        if to_status == "needs_documents" and not reason:
            raise Invalid("reason_required", "Укажите, какие документы нужны.")
        self._changed(actor, to_status, reason, due)

    def add_requested(
        self, actor: Actor, documents: list[Document], kind: TypeData, owned: dict[str, str], due: str | None
    ) -> None:
        """The applicant sends the documents staff asked for. The application is complete again
        at that moment, so it returns to «В работе» in the same save (``due``: that status's
        term counted from today): the term runs from the upload (../shared/DOMAIN.md)."""
        if actor.account_id != self.applicant_id:
            raise Forbidden("forbidden", "Документы к заявке добавляет заявитель.")
        if self.status != "needs_documents":
            raise Conflict(
                "documents_not_requested", "Сетевая организация не запрашивала документы по заявке."
            )
        check_documents(kind, documents, owned)
        self._documents_added(documents=documents, actor_id=actor.account_id)
        self._changed(actor, "in_work", DOCUMENTS_RECEIVED, due)

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


AGGREGATES = (ApplicationType, Catalog, Application)
