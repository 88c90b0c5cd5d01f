"""What the files routes answer (the published contract's schemas)."""

from __future__ import annotations

import json

from pydantic import BaseModel

from services.files.domain import StoredFile
from services.files.forms import SPECS, SPECS_BY_CODE
from services.files.values import KINDS
from shared.readstore import Row

KIND_ORDER = {kind: i for i, kind in enumerate(KINDS)}
CODE_ORDER = {spec.code: i for i, spec in enumerate(SPECS)}


class ArchiveEntry(BaseModel):
    name: str
    size: int


class FileOut(BaseModel):
    id: str
    name: str
    size: int
    content_type: str
    sha256: str
    archive_entries: list[ArchiveEntry] | None = None
    uploaded_at: str
    # The caller may delete it: their own upload, attached to no application or chat.
    deletable: bool = False


class FilesPage(BaseModel):
    items: list[FileOut]
    total: int
    limit: int
    offset: int


class FormOut(BaseModel):
    id: str
    code: str
    title: str
    kind: str
    kind_title: str
    application_type_code: str | None
    format: str
    version: int
    fillable: bool
    # A filled-in sample («Образец заполнения») names the form it shows.
    sample_of: str | None = None


class FormsOut(BaseModel):
    items: list[FormOut]


def file_out(stored: StoredFile, account_id: str = "") -> FileOut:
    return FileOut(**stored.metadata(), deletable=stored.deletable_by(account_id))


def listed_file(row: Row, deletable: bool) -> FileOut:
    """A file as the catalog lists it (``files_files``)."""
    entries = row["archive_entries"]
    return FileOut(
        id=row["file_id"],
        name=row["name"],
        size=int(row["size"]),
        content_type=row["content_type"],
        sha256=row["sha256"],
        archive_entries=None if entries is None else json.loads(entries),
        uploaded_at=row["uploaded_at"],
        deletable=deletable,
    )


def form_out(row: Row) -> FormOut:
    """A form version as the catalog lists it (``files_forms``)."""
    spec = SPECS_BY_CODE.get(row["code"])
    kind: str = row["kind"]
    return FormOut(
        id=row["form_id"],
        code=row["code"],
        title=row["title"],
        kind=kind,
        kind_title=KINDS.get(kind, kind),
        application_type_code=row["application_type_code"],
        format=row["format"],
        version=int(row["version"]),
        fillable=bool(spec and spec.fillable and row["format"] == "docx"),
        sample_of=spec.sample_of if spec else None,
    )


def forms_out(rows: list[Row]) -> FormsOut:
    """Forms in the library's order: by kind, then as the library lists them, newest first."""
    rows.sort(
        key=lambda r: (KIND_ORDER.get(r["kind"], 9), CODE_ORDER.get(r["code"], 99), r["code"], -r["version"])
    )
    return FormsOut(items=[form_out(r) for r in rows])
