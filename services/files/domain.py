"""The files service's write model: stored files and the series of standard forms.

A :class:`StoredFile` records who uploaded which bytes (by blob key and SHA-256), where its
owner attached it and who else may read it. A :class:`FormSeries` is one standard form (its
code is its identity) with every version ever published; each version names the stored file
that holds its document. Events carry ``audit`` (actor and origin), so the event store is the
audit log. The event classes keep the names they were stored under
(``services.files.domain:StoredFile.Uploaded`` …), so every stored event still loads.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from eventsourcing.domain import Aggregate, event

from services.files import errors
from services.files.values import KINDS, SYSTEM, Audit, Blob, Entries, form_id_of, series_id


class StoredFile(Aggregate):
    """One uploaded file. Its id is chosen before the bytes are stored."""

    class Uploaded(Aggregate.Created):
        file_id: str
        owner_id: str
        name: str
        size: int
        content_type: str
        kind: str
        sha256: str
        blob_key: str
        archive_entries: Entries
        audit: Audit
        owner_staff: bool = False  # absent from files uploaded before it was recorded

    class Attached(Aggregate.Event):
        reason: str
        audit: Audit

    class PartiesGranted(Aggregate.Event):
        account_ids: list[str]
        reason: str
        audit: Audit

    class Deleted(Aggregate.Event):
        owner_id: str
        audit: Audit

    @staticmethod
    def create_id(file_id: str) -> uuid.UUID:
        return uuid.UUID(file_id)

    @classmethod
    def of(
        cls, blob: Blob, *, owner_id: str, audit: Audit, file_id: uuid.UUID | None = None, staff: bool = False
    ) -> StoredFile:
        """A file of bytes stored already (not saved yet)."""
        if blob.size <= 0 or len(blob.sha256) != 64 or not blob.key:
            raise ValueError("a stored file needs its bytes")
        return cls(
            file_id=str(file_id or uuid.uuid4()),
            owner_id=owner_id,
            name=blob.name,
            size=blob.size,
            content_type=blob.content_type,
            kind=blob.kind,
            sha256=blob.sha256,
            blob_key=blob.key,
            archive_entries=blob.entries,
            audit=audit,
            owner_staff=staff,
        )

    @event(Uploaded)
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
        archive_entries: Entries,
        audit: Audit,
        owner_staff: bool = False,
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

    def __deepcopy__(self, memo: dict[int, Any]) -> StoredFile:
        """The copy a command works on (the repository copies what it cached): the lists that
        grow with every attachment hold only strings, so a flat copy of them is a deep one — a
        file attached to thousands of applications is copied in microseconds, not milliseconds."""
        clone = object.__new__(type(self))
        for name, value in self.__dict__.items():
            flat = name in self._FLAT and type(value) is list
            clone.__dict__[name] = list(value) if flat else copy.deepcopy(value, memo)
        return clone

    _FLAT = frozenset({"parties", "attached_to"})  # lists of account ids, of reasons

    # commands ---------------------------------------------------------------------------------
    def attach(self, by: str, readers: list[str], reason: str) -> bool:
        """``by`` attached it somewhere (``reason``) for ``readers``. Only its owner shares it
        so; the attachment is recorded once per reason, even when no reader is new (staff may
        then read it). False when nothing changed (a repeat, or not the owner)."""
        if by != self.owner_id:
            return False
        audit = {"actor": by, "reason": reason}
        missing = sorted({a for a in readers if a != self.owner_id and a not in self.parties})
        if missing:
            self._granted(account_ids=missing, reason=reason, audit=audit)
        elif reason not in self.attached_to:
            self._attached(reason=reason, audit=audit)
        else:
            return False
        return True

    def delete(self, by: str, audit: Audit, *, holds_form: bool = False) -> None:
        """Its owner deletes it while it is attached to nothing and holds no form (anyone else:
        not found); the bytes are removed after this event is saved."""
        if self.deleted or by != self.owner_id:
            raise errors.file_not_found()
        if holds_form:
            raise errors.form_file_in_use()
        if self.in_use:
            raise errors.file_in_use()
        self._deleted(owner_id=by, audit=audit)

    @event(Attached)
    def _attached(self, reason: str, audit: Audit) -> None:
        if reason not in self.attached_to:
            self.attached_to.append(reason)

    @event(PartiesGranted)
    def _granted(self, account_ids: list[str], reason: str, audit: Audit) -> None:
        self.parties.extend(a for a in account_ids if a not in self.parties)
        if reason not in self.attached_to:  # a grant always came from an attachment
            self.attached_to.append(reason)

    @event(Deleted)
    def _deleted(self, owner_id: str, audit: Audit) -> None:
        self.deleted = True

    # queries ----------------------------------------------------------------------------------
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

    def deletable_by(self, account_id: str) -> bool:
        return self.owner_id == account_id and not self.in_use

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


class FormSeries(Aggregate):
    """A standard form: code, title, kind, application type, and its versions."""

    class Published(Aggregate.Created):
        code: str
        title: str
        kind: str
        application_type_code: str | None
        form_id: str
        format: str
        file_id: str
        audit: Audit

    # Code, kind and type ride along so the public event is complete on its own.
    class VersionPublished(Aggregate.Event):
        code: str
        kind: str
        application_type_code: str | None
        version: int
        title: str
        form_id: str
        format: str
        file_id: str
        audit: Audit

    @staticmethod
    def create_id(code: str) -> uuid.UUID:
        return series_id(code)

    @classmethod
    def first(
        cls, code: str, title: str, kind: str, type_code: str | None, file: StoredFile, audit: Audit
    ) -> FormSeries:
        """A new form, its first version held by ``file`` (a DOCX, PDF, ODT or XLSX)."""
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}")
        form_id = str(form_id_of(code, 1))
        return cls(
            code=code,
            title=title,
            kind=kind,
            application_type_code=type_code,
            form_id=form_id,
            format=file.kind,
            file_id=str(file.id),
            audit=audit,
        )

    @event(Published)
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

    def publish(self, file: StoredFile, title: str, audit: Audit) -> None:
        """The next version, held by ``file``; no title keeps the current one."""
        version = len(self.versions) + 1
        self._version_published(
            code=self.code,
            kind=self.kind,
            application_type_code=self.application_type_code,
            version=version,
            title=title or self.title,
            form_id=str(form_id_of(self.code, version)),
            format=file.kind,
            file_id=str(file.id),
            audit=audit,
        )

    @event(VersionPublished)
    def _version_published(
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
    def latest(self) -> dict[str, Any]:
        """The newest version as the catalog lists it (a row of ``files_forms``)."""
        version = self.versions[-1]
        return {
            "form_id": version["form_id"],
            "code": self.code,
            "title": version["title"],
            "kind": self.kind,
            "application_type_code": self.application_type_code,
            "format": version["format"],
            "version": version["version"],
            "file_id": version["file_id"],
        }


AGGREGATES = (StoredFile, FormSeries)
