"""The document slots of the application forms (the submission and the documents staff ask
for): one file input per checklist slot of the application type, plus the ZIP archive.

Files are uploaded first, then the application is sent. Whatever was uploaded survives a
refused post: the form comes back with those files listed as kept (hidden inputs with their
ids), so nobody uploads them twice; a new file chosen for a slot replaces what was kept there.
The API's refusals are put at the fields and slots they concern, in words, never as raw
field names.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import Request
from starlette.datastructures import FormData, UploadFile

from services.gateway.pages.calls import UNAVAILABLE, api, idempotency, refusal_of
from services.gateway.pages.post import Refused
from shared.format import number as figure

ARCHIVE = {"code": "archive", "title": "Архив документов (ZIP) — вместо отдельных файлов", "required": False}
ACCEPT = ".pdf,.jpg,.jpeg,.png,.tif,.tiff,.zip,.docx,.xlsx,.odt"
CHECK_FIELDS = "Проверьте заполнение полей."
SLOT_MISSING = "Приложите этот документ или ZIP-архив со всеми документами."
# The form's own words for what the API refuses at a field.
FIELD_TEXT = {
    "power_kw": "Укажите максимальную мощность в кВт числом больше нуля, например 12,5.",
    "object_address": "Укажите адрес объекта: населённый пункт, улица, дом (от 5 до 500 символов).",
    "phone": "Укажите телефон: цифры, «+», скобки, пробелы и дефисы, например +7 900 123-45-67.",
    "email": "Укажите адрес e-mail в формате name@example.ru.",
    "comment": "Комментарий — не длиннее 2000 символов.",
    "documents": "Приложите скан-копии документов или один ZIP-архив (не более 30 файлов).",
}
# The API's field (a pydantic location) → the form's field.
API_FIELDS = {
    "power_kw": "power_kw",
    "object_address": "object_address",
    "contact": "phone",
    "contact.phone": "phone",
    "contact.email": "email",
    "comment": "comment",
    "documents": "documents",
}


# When a slot that is not always required becomes so (the catalog's ``required_when``).
WHEN_TEXT = {
    "representative": "обязательно, если заявку подаёт представитель",
    "reduced_rate": "обязательно, если заявлена льготная категория",
}


def when_text(slot: dict[str, Any]) -> str:
    if slot.get("required_from_kv") is not None:
        return f"обязательно при напряжении {figure(slot['required_from_kv'])} кВ и выше"
    return WHEN_TEXT.get(str(slot.get("required_when") or ""), "")


def filed(kind: dict[str, Any], slot: dict[str, Any]) -> bool:
    """Whether the submission asks for ``slot``: only what cannot be typed — the generated
    application form only where it must still be signed on paper, the reduced-rate document
    only where the type allows one, the single-line diagram only where 35 kV may be chosen."""
    if slot["code"] == "application_form":
        return bool(kind.get("paper_signature", True))
    if slot.get("required_when") == "reduced_rate":
        return bool(kind.get("reduced_rate"))
    from_kv, voltages = slot.get("required_from_kv"), kind.get("voltages_kv")
    return from_kv is None or not voltages or max(float(v) for v in voltages) >= float(from_kv)


def slots_of(kind: dict[str, Any], *, filing: bool = False) -> list[dict[str, Any]]:
    """The checklist of the type, each slot with its own input (and when it is required),
    and the archive; ``filing``: the slots of the submission (:func:`filed`)."""
    shown = [s for s in kind.get("documents", []) if not filing or filed(kind, s)]
    return [*(_worded(s) for s in shown), ARCHIVE]


def _worded(slot: dict[str, Any]) -> dict[str, Any]:
    """A slot for the templates: «обязательно» only when always required, else its condition."""
    always = bool(slot.get("required")) and slot.get("required_from_kv") is None
    return {**slot, "required": always, "when_text": when_text(slot)}


def needed(slot: dict[str, Any], conditions: dict[str, Any]) -> bool:
    """Whether ``slot`` must be attached under ``conditions`` (:func:`apply_form.conditions`)."""
    from_kv, voltage = slot.get("required_from_kv"), conditions.get("voltage_kv")
    if from_kv is not None:  # e.g. the single-line diagram: only at 35 kV and above
        return voltage is not None and float(voltage) >= float(from_kv)
    if slot.get("required"):
        return True
    return bool(slot.get("required_when") and conditions.get(str(slot["required_when"])))


def input_of(slot: str) -> str:
    return f"doc_{slot}"


@dataclass
class Attached:
    """What a post attached: documents ``{slot, file_id, name}`` and the slots' problems."""

    documents: list[dict[str, str]] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)


def not_accepted(problems: Iterable[str]) -> str:
    return "Файлы не приняты: " + " ".join(problems)


async def send_file(
    request: Request, upload: UploadFile, headers: dict[str, str] | None = None
) -> tuple[dict[str, str] | None, str]:
    """Send one chosen file to the files service: ({id, name}, "") or (None, the refusal);
    raises httpx.TransportError when it is down. ``headers``: the file's Idempotency-Key, so
    a repeated post stores it once."""
    files = {
        "file": (upload.filename or "file", upload.file, upload.content_type or "application/octet-stream")
    }
    answer = await api(request, "POST", "/api/v1/files", auth=True, files=files, headers=headers or {})
    if answer.status_code == 201:
        body = answer.json()
        return {"id": str(body["id"]), "name": str(body.get("name", ""))}, ""
    return None, f"«{upload.filename}»: {refusal_of(answer).message}"


async def upload_file(
    request: Request, upload: UploadFile, headers: dict[str, str] | None = None
) -> tuple[dict[str, str] | None, str]:
    """:func:`send_file`, a service that is down being this file's problem."""
    try:
        return await send_file(request, upload, headers)
    except httpx.TransportError:
        return None, UNAVAILABLE


async def _names(request: Request, file_ids: list[str]) -> dict[str, str]:
    """The names of files kept by id (the caller's own; an id they may not read is dropped)."""
    names: dict[str, str] = {}
    for file_id in dict.fromkeys(file_ids):
        try:
            answer = await api(request, "GET", f"/api/v1/files/{file_id}/meta", auth=True)
        except httpx.TransportError:
            continue
        if answer.status_code == 200:
            names[file_id] = str(answer.json()["name"])
    return names


async def collect(request: Request, form: FormData, kind: dict[str, Any]) -> Attached:
    """Upload the files chosen per slot; keep, per slot without a new file, what was kept."""
    attached = Attached()
    kept: dict[str, list[str]] = {}
    for slot in slots_of(kind):
        code = slot["code"]
        chosen = [i for i in form.getlist(input_of(code)) if isinstance(i, UploadFile) and i.filename]
        problems = []
        for number, item in enumerate(chosen):
            uploaded, problem = await upload_file(request, item, idempotency(form, code, number))
            if uploaded:
                attached.documents.append({"slot": code, "file_id": uploaded["id"], "name": uploaded["name"]})
            else:
                problems.append(problem)
        if problems:
            attached.problems[input_of(code)] = " ".join(problems)
        if not chosen:
            kept[code] = [str(v) for v in form.getlist(f"keep_{code}") if isinstance(v, str) and v]
    names = await _names(request, [i for ids in kept.values() for i in ids])
    for code, ids in kept.items():
        attached.documents += [{"slot": code, "file_id": i, "name": names[i]} for i in ids if i in names]
    return attached


def kept_by_slot(documents: list[dict[str, str]]) -> dict[str, list[dict[str, str]]]:
    """For the template: slot → the files kept there."""
    by_slot: dict[str, list[dict[str, str]]] = {}
    for doc in documents:
        by_slot.setdefault(doc["slot"], []).append(doc)
    return by_slot


def missing_slots(
    kind: dict[str, Any], documents: list[dict[str, str]], conditions: dict[str, Any] | None = None
) -> dict[str, str]:
    given = {d["slot"] for d in documents}
    return {
        input_of(slot["code"]): SLOT_MISSING
        for slot in kind.get("documents", [])
        if needed(slot, conditions or {}) and slot["code"] not in given
    }


def refused(kind: dict[str, Any], documents: list[dict[str, str]]) -> Refused:
    """What a refused submission shows: the messages at the form's fields and slots."""

    def shown(answer: httpx.Response) -> dict[str, Any]:
        summary, fields = refusal(answer, kind, documents)
        return {"error": summary, "fields": fields}

    return shown


def refusal(
    answer: httpx.Response,
    kind: dict[str, Any],
    documents: list[dict[str, str]],
    conditions: dict[str, Any] | None = None,
) -> tuple[str, dict[str, str]]:
    """(summary, messages at the form's fields and slots) for a refused submission."""
    summary, api_fields, code = refusal_of(answer)
    fields: dict[str, str] = {}
    if code == "validation_error":
        for name in api_fields:
            mine = API_FIELDS.get(name) or ("documents" if name.startswith("documents") else "")
            if mine:
                fields[mine] = FIELD_TEXT[mine]
        if "documents" in fields and not documents:  # nothing attached: every required slot
            fields.update(missing_slots(kind, documents, conditions))
        summary = CHECK_FIELDS
    elif code == "power_exceeds_limit":
        fields["power_kw"] = summary
    elif code == "documents_missing":
        fields.update(missing_slots(kind, documents, conditions))
    elif code == "archive_expected":
        fields[input_of("archive")] = summary
    elif code in ("file_not_found", "unknown_slot"):
        fields["documents"] = summary
    return summary, fields
