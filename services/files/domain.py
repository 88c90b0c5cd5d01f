"""The files service's write model: stored files and the series of standard forms.

A :class:`StoredFile` records who uploaded which bytes (by blob key and SHA-256), where
its owner attached it and who else may read it. A :class:`FormSeries` is one standard form (its code is its
identity) with every version ever published; each version names the stored file that
holds its document. Events carry ``audit`` (actor and origin), so the event store is the
audit log.
"""

from __future__ import annotations

import uuid
from typing import Any

from eventsourcing.domain import Aggregate, event

_NS = uuid.UUID("5d0c2a8e-8f0b-4b77-9a3b-6a4f1f0e7c11")

SYSTEM = "system"  # owner of the forms the service generates itself
KINDS = {
    "application": "Типовые формы заявок на ТП",
    "act": "Типовые формы документов по ТП",
    "contract": "Типовые формы договоров об оказании услуг по ТП",
}

Audit = dict[str, str]


class StoredFile(Aggregate):
    """One uploaded file. Its id is chosen before the bytes are stored."""

    @staticmethod
    def create_id(file_id: str) -> uuid.UUID:
        return uuid.UUID(file_id)

    @event("Uploaded")
    def __init__(
        self,
        *,
        file_id: str,
        owner_id: str,
        name: str,
        size: int,
        content_type: str,
        kind: str,
        sha256: str,
        blob_key: str,
        archive_entries: list[dict[str, Any]] | None,
        audit: Audit,
        owner_staff: bool = False,  # absent from files uploaded before it was recorded
    ) -> None:
        self.owner_id = owner_id
        self.owner_staff = owner_staff
        self.name = name
        self.size = size
        self.content_type = content_type
        self.kind = kind
        self.sha256 = sha256
        self.blob_key = blob_key
        self.archive_entries = archive_entries
        self.parties: list[str] = []
        self.attached_to: list[str] = []  # reasons: "application:<id>", "chat:<thread id>"
        self.deleted = False

    @event("Attached")
    def attach(self, reason: str, audit: Audit) -> None:
        """Its owner attached it to an application or a chat message (recorded once per reason)."""
        if reason not in self.attached_to:
            self.attached_to.append(reason)

    @event("PartiesGranted")
    def grant(self, account_ids: list[str], reason: str, audit: Audit) -> None:
        self.parties.extend(a for a in account_ids if a not in self.parties)
        if reason not in self.attached_to:  # a grant always came from an attachment
            self.attached_to.append(reason)

    @event("Deleted")
    def delete(self, owner_id: str, audit: Audit) -> None:
        """Its owner deleted it; the bytes are removed after this event is saved."""
        self.deleted = True

    @property
    def in_use(self) -> bool:
        """Attached to an application or a chat, or shared: it stays."""
        return bool(self.attached_to or self.parties)

    def can_read(self, account_id: str, staff: bool) -> bool:
        """The owner and the parties it was shared with. Staff: what belongs to an application
        or a chat (every one is visible to staff), files of staff and of the system (the
        standard forms), and their own. A consumer's upload attached to nothing stays private."""
        if account_id == self.owner_id or account_id in self.parties:
            return True
        return staff and (self.owner_staff or self.owner_id == SYSTEM or bool(self.attached_to))

    def is_attached_to(self, reason: str) -> bool:
        return reason in self.attached_to

    def missing_parties(self, account_ids: list[str]) -> list[str]:
        return sorted({a for a in account_ids if a != self.owner_id and a not in self.parties})

    def metadata(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "size": self.size,
            "content_type": self.content_type,
            "sha256": self.sha256,
            "archive_entries": self.archive_entries,
            "owner_id": self.owner_id,
            "uploaded_at": self.created_on.isoformat(),
        }


def form_id_of(code: str, version: int) -> uuid.UUID:
    """Each version of a form has its own stable id."""
    return uuid.uuid5(FormSeries.create_id(code), f"v{version}")


class FormSeries(Aggregate):
    """A standard form: code, title, kind, application type, and its versions."""

    @staticmethod
    def create_id(code: str) -> uuid.UUID:
        return uuid.uuid5(_NS, "form:" + code)

    @event("Published")
    def __init__(
        self,
        *,
        code: str,
        title: str,
        kind: str,
        application_type_code: str | None,
        form_id: str,
        format: str,
        file_id: str,
        audit: Audit,
    ) -> None:
        self.code = code
        self.title = title
        self.kind = kind
        self.application_type_code = application_type_code
        self.versions: list[dict[str, Any]] = [
            {"version": 1, "form_id": form_id, "format": format, "file_id": file_id, "title": title}
        ]

    # Code, kind and type ride along so the public event is complete on its own.
    @event("VersionPublished")
    def publish(
        self,
        *,
        code: str,
        kind: str,
        application_type_code: str | None,
        version: int,
        title: str,
        form_id: str,
        format: str,
        file_id: str,
        audit: Audit,
    ) -> None:
        self.title = title
        self.versions.append(
            {"version": version, "form_id": form_id, "format": format, "file_id": file_id, "title": title}
        )

    @property
    def next_version(self) -> int:
        return len(self.versions) + 1
