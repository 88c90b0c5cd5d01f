"""Maps the files service's domain events to the public events of ``files.events``.

Blob keys and audit origins stay in the event store; only the owner and the actor travel.
"""

from __future__ import annotations

from typing import Any

from shared.events import FileDeletedV1, FilePartiesGrantedV1, FileUploadedV1, FormPublishedV1, PublicEvent


def to_public(event: Any) -> PublicEvent | None:
    # The declarative @event classes are made at run time; dispatch by their name.
    kind = type(event).__qualname__
    subject = str(event.originator_id)
    if kind == "StoredFile.Uploaded":
        return FileUploadedV1(
            file_id=subject,
            owner_id=event.owner_id,
            name=event.name,
            size=event.size,
            content_type=event.content_type,
            sha256=event.sha256,
            archive_entries=event.archive_entries,
        )
    if kind == "StoredFile.Deleted":
        return FileDeletedV1(file_id=subject, owner_id=event.owner_id)
    if kind == "StoredFile.PartiesGranted":
        return FilePartiesGrantedV1(file_id=subject, account_ids=list(event.account_ids))
    if kind in ("FormSeries.Published", "FormSeries.VersionPublished"):
        return FormPublishedV1(
            form_id=event.form_id,
            code=event.code,
            title=event.title,
            kind=event.kind,
            application_type_code=event.application_type_code,
            version=getattr(event, "version", 1),
            format=event.format,
            file_id=event.file_id,
        )
    return None
