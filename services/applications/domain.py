"""Applications' write model: the catalog's application types and the applications."""

from __future__ import annotations

import uuid
from typing import Any

from eventsourcing.domain import Aggregate, event

_NS = uuid.UUID("5d0c6f0e-7a49-4c55-9f35-6a3e2f8b1c44")


class ApplicationType(Aggregate):
    """One entry of the catalog: term, procedure, payment, checklist, deadlines (data)."""

    @staticmethod
    def create_id(code: str) -> uuid.UUID:
        return uuid.uuid5(_NS, "type:" + code)

    @event("Defined")
    def __init__(self, *, code: str, data: dict[str, Any]) -> None:
        self.code = code
        self.data = data

    @event("Updated")
    def update(self, data: dict[str, Any], actor_id: str) -> None:
        self.data = data


class Catalog(Aggregate):
    """The list of type codes, so that new types can be added through the API."""

    @staticmethod
    def create_id() -> uuid.UUID:
        return uuid.UUID("8b1f0e7c-0d1a-4f59-b1c1-7b0f3c6a9e11")

    @event("Created")
    def __init__(self) -> None:
        self.codes: list[str] = []

    @event("TypeAdded")
    def add(self, code: str) -> None:
        self.codes.append(code)


class Application(Aggregate):
    """A grid-connection application (заявка на ТП) and its status history."""

    @event("Submitted")
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
        documents: list[dict[str, str]],
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

    @event("StatusChanged")
    def change_status(
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

    @event("DocumentsAdded")
    def add_documents(self, documents: list[dict[str, str]], actor_id: str) -> None:
        self.documents.extend(documents)
