"""The files service's domain events → the public events of ``files.events``.

Blob keys and audit origins stay in the event store; only the owner and the actor travel.
An attachment that shares the file with nobody new stays internal: no consumer needs it.
"""

from __future__ import annotations

from services.files.domain import FormSeries, StoredFile
from shared.events import FileDeletedV1, FilePartiesGrantedV1, FileUploadedV1, FormPublishedV1
from shared.idempotency import IdempotencyRecord
from shared.mapping import EventMap

EVENTS = EventMap()
EVENTS.internal(StoredFile.Attached, IdempotencyRecord.Recorded)


@EVENTS.public(StoredFile.Uploaded, to=FileUploadedV1)
def uploaded(event: StoredFile.Uploaded) -> FileUploadedV1:
    return FileUploadedV1(
        file_id=str(event.originator_id),
        owner_id=event.owner_id,
        name=event.name,
        size=event.size,
        content_type=event.content_type,
        sha256=event.sha256,
        archive_entries=event.archive_entries,
    )


@EVENTS.public(StoredFile.PartiesGranted, to=FilePartiesGrantedV1)
def granted(event: StoredFile.PartiesGranted) -> FilePartiesGrantedV1:
    return FilePartiesGrantedV1(file_id=str(event.originator_id), account_ids=list(event.account_ids))


@EVENTS.public(StoredFile.Deleted, to=FileDeletedV1)
def deleted(event: StoredFile.Deleted) -> FileDeletedV1:
    return FileDeletedV1(file_id=str(event.originator_id), owner_id=event.owner_id)


@EVENTS.public(FormSeries.Published, FormSeries.VersionPublished, to=FormPublishedV1)
def published(event: FormSeries.Published | FormSeries.VersionPublished) -> FormPublishedV1:
    return FormPublishedV1(
        form_id=event.form_id,
        code=event.code,
        title=event.title,
        kind=event.kind,
        application_type_code=event.application_type_code,
        version=event.version if isinstance(event, FormSeries.VersionPublished) else 1,
        format=event.format,
        file_id=event.file_id,
    )
