"""The files service's command side: one eventsourcing Application per process.

The library is synchronous; the API calls these methods from a worker thread. Rules are
checked here before an event is triggered. Each command returns the notification id of
its last event, so the API can wait for its own read model (read-your-writes).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from services.files.domain import KINDS, Audit, FormSeries, StoredFile, form_id_of
from shared.http import ApiError
from shared.settings import Settings


def form_not_found() -> ApiError:
    return ApiError(404, "form_not_found", "Такой типовой формы нет.")


def file_not_found() -> ApiError:
    return ApiError(404, "not_found", "Файл не найден.")


def file_in_use() -> ApiError:
    return ApiError(
        409,
        "file_in_use",
        "Файл приложен к заявке или к сообщению переписки, поэтому удалить его нельзя.",
    )


class FilesApp(Application[uuid.UUID]):
    name = "files"

    def __init__(self, settings: Settings, env: dict[str, str] | None = None) -> None:
        super().__init__(
            {**settings.eventstore_env("files"), "AGGREGATE_CACHE_MAXSIZE": "5000", **(env or {})}
        )
        self.settings = settings
        self.on_saved: Callable[[], None] = lambda: None

    def _commit(self, *aggregates: Any) -> int:
        recordings = self.save(*aggregates)
        self.on_saved()
        return max((r.notification.id for r in recordings), default=0)

    # files ----------------------------------------------------------------------------------
    def file(self, file_id: uuid.UUID) -> StoredFile | None:
        """A stored file that was not deleted."""
        found = self._stored(file_id)
        return None if found is None or found.deleted else found

    def _stored(self, file_id: uuid.UUID) -> StoredFile | None:
        try:
            found: Any = self.repository.get(file_id)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, StoredFile) else None

    def delete_file(
        self, file_id: uuid.UUID, owner_id: str, audit: Audit, *, form: bool = False
    ) -> tuple[StoredFile, int]:
        """Its owner deletes a file attached to nothing (anyone else: not found); ``form``: it
        holds a standard form. An attachment racing the deletion changes the same aggregate
        version: one of them is refused."""
        stored = self.file(file_id)
        if stored is None or stored.owner_id != owner_id:
            raise file_not_found()
        if form:
            raise ApiError(409, "file_in_use", "Это файл типовой формы, удалить его нельзя.")
        if stored.in_use:
            raise file_in_use()
        stored.delete(owner_id=owner_id, audit=audit)
        try:
            return stored, self._commit(stored)
        except IntegrityError:
            raise file_in_use() from None

    @staticmethod
    def new_file(
        *,
        owner_id: str,
        name: str,
        size: int,
        content_type: str,
        kind: str,
        sha256: str,
        blob_key: str,
        archive_entries: list[dict[str, Any]] | None,
        audit: Audit,
        file_id: uuid.UUID | None = None,
        owner_staff: bool = False,
    ) -> StoredFile:
        """A file whose bytes are stored and checked already (not saved yet)."""
        if size <= 0 or len(sha256) != 64 or not blob_key:
            raise ValueError("a stored file needs its bytes")
        return StoredFile(
            file_id=str(file_id or uuid.uuid4()),
            owner_id=owner_id,
            name=name,
            size=size,
            content_type=content_type,
            kind=kind,
            sha256=sha256,
            blob_key=blob_key,
            archive_entries=archive_entries,
            audit=audit,
            owner_staff=owner_staff,
        )

    def record_upload(
        self,
        *,
        file_id: uuid.UUID,
        owner_id: str,
        name: str,
        size: int,
        content_type: str,
        kind: str,
        sha256: str,
        blob_key: str,
        archive_entries: list[dict[str, Any]] | None,
        audit: Audit,
        owner_staff: bool = False,
    ) -> tuple[StoredFile, int]:
        """A file whose bytes are stored and checked already becomes known."""
        stored = self.new_file(
            file_id=file_id,
            owner_id=owner_id,
            name=name,
            size=size,
            content_type=content_type,
            kind=kind,
            sha256=sha256,
            blob_key=blob_key,
            archive_entries=archive_entries,
            audit=audit,
            owner_staff=owner_staff,
        )
        return stored, self._commit(stored)

    def grant(self, file_ids: list[str], account_ids: list[str], *, by: str, reason: str) -> int:
        """Record that ``by`` attached these files somewhere (``reason``) and let
        ``account_ids`` read them.

        Only a file's owner shares it by attaching it: an id of someone else's file,
        attached by anyone else, records nothing. The attachment is recorded once per file
        and reason, even when no party is new (the applicant attaching their own file: staff
        may then read it); repeats do nothing, so consumers may replay.
        Returns the last notification id written (0 if nothing changed)."""
        changed = []
        for raw in dict.fromkeys(file_ids):
            try:
                stored = self.file(uuid.UUID(raw))
            except ValueError:
                continue
            if stored is None or stored.owner_id != by:
                continue
            audit = {"actor": by, "reason": reason}
            missing = stored.missing_parties(account_ids)
            if missing:
                stored.grant(account_ids=missing, reason=reason, audit=audit)
            elif not stored.is_attached_to(reason):
                stored.attach(reason=reason, audit=audit)
            else:
                continue
            changed.append(stored)
        return self._commit(*changed) if changed else 0

    # forms ----------------------------------------------------------------------------------
    def deletable(self, file_ids: list[str], owner_id: str) -> set[str]:
        """Which of ``file_ids`` their owner ``owner_id`` may delete (attached to nothing)."""
        found = (self.file(uuid.UUID(i)) for i in file_ids)
        return {str(f.id) for f in found if f is not None and f.owner_id == owner_id and not f.in_use}

    def series(self, code: str) -> FormSeries | None:
        try:
            found: Any = self.repository.get(FormSeries.create_id(code))
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, FormSeries) else None

    def publish_form(
        self,
        *,
        code: str,
        title: str,
        kind: str,
        application_type_code: str | None,
        file: StoredFile,
        format: str,
        audit: Audit,
    ) -> tuple[dict[str, Any], int]:
        """A new version of a form (the first one creates it), saved atomically with its file."""
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}")
        series = self.series(code)
        if series is None:
            version = 1
            series = FormSeries(
                code=code,
                title=title,
                kind=kind,
                application_type_code=application_type_code,
                form_id=str(form_id_of(code, version)),
                format=format,
                file_id=str(file.id),
                audit=audit,
            )
        else:
            version = series.next_version
            series.publish(
                code=code,
                kind=series.kind,
                application_type_code=series.application_type_code,
                version=version,
                title=title or series.title,
                form_id=str(form_id_of(code, version)),
                format=format,
                file_id=str(file.id),
                audit=audit,
            )
        try:
            position = self._commit(file, series)
        except IntegrityError:
            # Another publisher of the same code won the race: refuse, nothing is stored.
            raise ApiError(
                409, "form_version_conflict", "Одновременно публикуется другая версия формы, повторите."
            ) from None
        return form_item(series, series.versions[-1]), position

    def publish_new_version(
        self, *, code: str, file: StoredFile, format: str, title: str, audit: Audit
    ) -> tuple[dict[str, Any], int]:
        series = self.series(code)
        if series is None:
            raise form_not_found()
        return self.publish_form(
            code=code,
            title=title or series.title,
            kind=series.kind,
            application_type_code=series.application_type_code,
            file=file,
            format=format,
            audit=audit,
        )


def form_item(series: FormSeries, version: dict[str, Any]) -> dict[str, Any]:
    """A form version as the API shows it."""
    return {
        "id": version["form_id"],
        "code": series.code,
        "title": version["title"],
        "kind": series.kind,
        "application_type_code": series.application_type_code,
        "format": version["format"],
        "version": version["version"],
        "file_id": version["file_id"],
    }
