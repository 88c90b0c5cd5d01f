"""The files service's use cases: one eventsourcing Application per process.

The library is synchronous: routes call these through ``shared.runtime.blocking``. The rules
live in the aggregates (shared/errors.py kinds, raised before an event is triggered); a use
case finds, asks, and saves in one atomic commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import NamedTuple

from eventsourcing.persistence import IntegrityError

from services.files import errors
from services.files.domain import FormSeries, StoredFile
from services.files.values import Audit, Blob
from shared.application import ServiceApplication


class Grant(NamedTuple):
    """``by`` attached ``file_ids`` somewhere (``reason``), for ``account_ids`` to read."""

    file_ids: list[str]
    account_ids: list[str]
    by: str
    reason: str


class FilesApp(ServiceApplication):
    name = "files"

    # queries --------------------------------------------------------------------------------
    def file(self, file_id: uuid.UUID) -> StoredFile | None:
        """A stored file that was not deleted."""
        found = self.find(file_id, StoredFile)
        return None if found is None or found.deleted else found

    def series(self, code: str) -> FormSeries | None:
        return self.find(FormSeries.create_id(code), FormSeries)

    def deletable(self, file_ids: list[str], owner_id: str) -> set[str]:
        """Which of ``file_ids`` their owner ``owner_id`` may delete (attached to nothing)."""
        found = (self.file(uuid.UUID(i)) for i in file_ids)
        return {str(f.id) for f in found if f is not None and f.deletable_by(owner_id)}

    # files ----------------------------------------------------------------------------------
    def record_upload(
        self, blob: Blob, *, owner_id: str, audit: Audit, file_id: uuid.UUID, staff: bool = False
    ) -> StoredFile:
        """A file whose bytes are stored and checked already becomes known."""
        stored = StoredFile.of(blob, owner_id=owner_id, audit=audit, file_id=file_id, staff=staff)
        self.commit(stored)
        return stored

    def delete_file(
        self, file_id: uuid.UUID, owner_id: str, audit: Audit, *, holds_form: bool = False
    ) -> StoredFile:
        """Its owner deletes a file attached to nothing. An attachment racing the deletion
        changes the same aggregate version: one of them is refused."""
        stored = self.file(file_id)
        if stored is None:
            raise errors.file_not_found()
        stored.delete(owner_id, audit, holds_form=holds_form)
        try:
            self.commit(stored)
        except IntegrityError:
            raise errors.file_in_use() from None
        return stored

    def grant(self, file_ids: list[str], account_ids: list[str], *, by: str, reason: str) -> int:
        """Record that ``by`` attached these files somewhere (``reason``) and let
        ``account_ids`` read them (see :meth:`StoredFile.attach`: an id of someone else's file
        records nothing). Repeats do nothing, so consumers may replay. Returns the last
        notification id written (0 if nothing changed)."""
        return self.grant_all([Grant(file_ids, account_ids, by, reason)])

    def grant_all(self, grants: Sequence[Grant]) -> int:
        """Several grants (a consumer's batch) in order, saved together: each file is loaded
        once, however many of them name it."""
        loaded: dict[str, StoredFile | None] = {}
        changed: dict[str, StoredFile] = {}
        for grant in grants:
            for raw in dict.fromkeys(grant.file_ids):
                if raw not in loaded:
                    try:
                        loaded[raw] = self.file(uuid.UUID(raw))
                    except ValueError:
                        loaded[raw] = None
                stored = loaded[raw]
                if stored is not None and stored.attach(grant.by, grant.account_ids, grant.reason):
                    changed[raw] = stored
        return self.commit(*changed.values()) if changed else 0

    # forms ----------------------------------------------------------------------------------
    def publish_form(
        self, *, code: str, title: str, kind: str, type_code: str | None, file: StoredFile, audit: Audit
    ) -> FormSeries:
        """A new version of a form (the first one creates it), saved atomically with its file."""
        series = self.series(code)
        if series is None:
            series = FormSeries.first(code, title, kind, type_code, file, audit)
        else:
            series.publish(file, title, audit)
        try:
            self.commit(file, series)
        except IntegrityError:
            # Another publisher of the same code won the race: refuse, nothing is stored.
            raise errors.form_version_conflict() from None
        return series

    def publish_new_version(self, code: str, file: StoredFile, title: str, audit: Audit) -> FormSeries:
        """Staff publish the next version of a known form (no title keeps the current one)."""
        series = self.series(code)
        if series is None:
            raise errors.form_not_found()
        return self.publish_form(
            code=code,
            title=title,
            kind=series.kind,
            type_code=series.application_type_code,
            file=file,
            audit=audit,
        )
