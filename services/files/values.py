"""The files service's plain values: what a stored file's bytes are, who acted, the kinds of
standard forms."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

_NS = uuid.UUID("5d0c2a8e-8f0b-4b77-9a3b-6a4f1f0e7c11")

SYSTEM = "system"  # owner of the forms the service generates itself
KINDS = {
    "application": "Типовые формы заявок на ТП",
    "act": "Типовые формы документов по ТП",
    "contract": "Типовые формы договоров об осуществлении ТП",
    "statement": "Заявления и уведомления заявителя",
}

Audit = dict[str, str]
Entries = list[dict[str, Any]] | None  # a plain ZIP's listing: name and size per file


@dataclass(frozen=True)
class Blob:
    """Bytes stored and checked already: where they are and what they are."""

    key: str
    size: int
    sha256: str
    content_type: str
    kind: str
    name: str
    entries: Entries = None


def series_id(code: str) -> uuid.UUID:
    """A standard form's identity: its code."""
    return uuid.uuid5(_NS, "form:" + code)


def form_id_of(code: str, version: int) -> uuid.UUID:
    """Each version of a form has its own stable id."""
    return uuid.uuid5(series_id(code), f"v{version}")
