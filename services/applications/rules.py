"""What a submission must satisfy against its type in the catalog: only a consumer files, the
power within the type's bounds and the structured fields the type allows (request_rules.py),
every document in a slot of the type's checklist and a file of the applicant's own, a ZIP
where the archive goes, every slot required for this request (a single-line diagram from
35 kV, the power of attorney for a representative, the reduced rate's proof) given or the
archive instead. Checked whole before a number is taken (decision 14)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.applications.actor import Actor
from services.applications.request_rules import Request, checked_request
from services.applications.workflow import CONSUMER
from shared.errors import Forbidden, Invalid

ARCHIVE_SLOT = "archive"
ARCHIVE_TITLE = "Архив документов (ZIP)"
ZIP_TYPES = {"application/zip"}

TypeData = dict[str, Any]
"""A catalog entry as data (catalog.json's shape): title, bounds, checklist, deadlines."""
Document = dict[str, str]
"""A document as events record it: slot, file_id and the file's name."""


@dataclass(frozen=True)
class Submission:
    """What the applicant sends, with the content types of the files they own (file id →
    content type; only their own uploads are there)."""

    type_code: str
    power_kw: float
    documents: list[Document]
    owned: dict[str, str]
    object_address: str = ""
    contact_phone: str = ""
    contact_email: str = ""
    comment: str = ""
    request: Request = field(default_factory=dict)  # the structured fields as given (issue 13)


def check_documents(kind: TypeData, documents: list[Document], owned: dict[str, str]) -> None:
    """Each document in a slot of the type, of a file the applicant owns, a ZIP as the archive."""
    slots = {d["code"] for d in kind["documents"]} | {ARCHIVE_SLOT}
    for doc in documents:
        if doc["slot"] not in slots:
            raise Invalid("unknown_slot", f"Неизвестный вид документа: {doc['slot']}.")
        if doc["file_id"] not in owned:
            raise Invalid("file_not_found", "Файл не найден среди ваших загруженных файлов.")
        if doc["slot"] == ARCHIVE_SLOT and owned[doc["file_id"]] not in ZIP_TYPES:
            raise Invalid("archive_expected", "В поле «Архив документов» нужен ZIP-архив.")


def check_applicant(actor: Actor) -> None:
    if actor.role != CONSUMER:
        raise Forbidden("forbidden", "Заявку на ТП подаёт потребитель.")


def required_documents(kind: TypeData, request: Request) -> list[dict[str, Any]]:
    """The checklist's items this request must give: ``required`` ones (from ``required_from_kv``
    where set), and those ``required_when`` a reduced rate is claimed or a representative files."""
    voltage = float(request.get("voltage_kv") or 0)
    when = {
        "reduced_rate": bool(request.get("reduced_rate_category")),
        "representative": request.get("representative") is not None,
    }
    return [
        d
        for d in kind["documents"]
        if when.get(d.get("required_when") or "", False)
        or (d["required"] and voltage >= float(d.get("required_from_kv") or 0))
    ]


def checked_submission(actor: Actor, kind: TypeData | None, form: Submission) -> tuple[TypeData, Request]:
    """Every rule of a submission; returns the type it is filed under and the request as
    recorded (defaults filled)."""
    check_applicant(actor)
    if kind is None:
        raise Invalid("unknown_type", "Такого вида заявки нет в каталоге.")
    request = checked_request(kind, form.power_kw, form.request)
    check_documents(kind, form.documents, form.owned)
    given = {d["slot"] for d in form.documents}
    missing = [d["title"] for d in required_documents(kind, request) if d["code"] not in given]
    if missing and ARCHIVE_SLOT not in given:
        raise Invalid(
            "documents_missing",
            "Не приложены обязательные документы: "
            + "; ".join(missing)
            + ". Можно приложить их одним ZIP-архивом.",
        )
    return kind, request


def check_submission(actor: Actor, kind: TypeData | None, form: Submission) -> TypeData:
    """Every rule of a submission; returns the type it is filed under."""
    return checked_submission(actor, kind, form)[0]
