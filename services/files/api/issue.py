"""``POST /api/v1/forms/{form_id}/issue``: staff make a company document (an act, a contract)
from a standard form filled with an application's data; the result is stored as the staff
member's own file, which they then place on the application (``company-documents``)."""

from __future__ import annotations

import re
import uuid

import structlog
from eventsourcing.persistence import IntegrityError
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from services.files import errors
from services.files.api.deps import Staff, State, audit_of
from services.files.api.fill_in import refused
from services.files.api.forms import form_row, stored_form
from services.files.api.models import FileOut, file_out
from services.files.api.uploads import replayed_upload
from services.files.content import DOCX, printable
from services.files.forms import bookmarks_in, fill_docx, today_ru
from services.files.storage import StorageUnavailable
from services.files.values import Blob
from shared import idempotency
from shared.errors import Invalid
from shared.http import IdPath, answers
from shared.runtime import blocking

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/api/v1")
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class IssueIn(BaseModel):
    """The values of the form's fields (``lk_<field>`` bookmarks) and the new file's name."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    values: dict[str, str] = Field(max_length=40)
    name: str = Field(default="", max_length=200)

    @field_validator("values")
    @classmethod
    def _values(cls, values: dict[str, str]) -> dict[str, str]:
        for key, value in values.items():
            if not _KEY.match(key):
                raise ValueError(f"недопустимое имя поля: {key[:40]}")
            if len(value) > 1000 or not printable(value):
                raise ValueError(f"поле {key}: недопустимые символы или слишком длинное значение")
        return values

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if not printable(name) or any(c in name for c in '/\\:*?"<>|'):
            raise ValueError("недопустимые символы в имени файла")
        return name


@router.post(
    "/forms/{form_id}/issue",
    status_code=201,
    response_model=FileOut,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": IssueIn.model_json_schema()}},
        },
        **idempotency.OPENAPI,
    },
    responses=answers(400, 401, 403, 404, 422, 503),
)
async def issue(
    form_id: IdPath, request: Request, response: Response, principal: Staff, files: State
) -> Response | FileOut:
    """The form version filled with ``values`` (fields it does not have are refused; today's
    date when ``date`` is not given), kept as the staff member's DOCX file. With
    ``Idempotency-Key`` a repeat answers the file made the first time and makes nothing."""
    try:
        body = IssueIn.model_validate_json(await request.body())
    except ValidationError as exc:
        return refused(exc)
    key = idempotency.key_of(request)
    file_id = idempotency.derived_id("issue", principal.account_id, key) if key else uuid.uuid4()
    if key:
        earlier = await blocking(files.app.file, file_id)
        if earlier is not None:
            return replayed_upload(earlier, principal, response)
    row = await form_row(files, form_id)
    if row["format"] != "docx":
        raise errors.not_fillable()
    try:
        template = await files.blobs.read_bytes((await stored_form(files, row)).blob_key)
    except (StorageUnavailable, KeyError):
        raise errors.storage_down() from None
    fields = await blocking(bookmarks_in, template)
    unknown = sorted(set(body.values) - fields)
    if unknown:
        raise Invalid(
            "unknown_form_field",
            f"В этой форме нет полей: {', '.join(unknown)}. Поля формы: {', '.join(sorted(fields)) or 'нет'}.",
        )
    values = {"date": today_ru(), **body.values}
    document, filled = await blocking(fill_docx, template, {k: v for k, v in values.items() if k in fields})
    if not filled:
        raise errors.not_fillable()
    name = f"{body.name or row['title']}.docx"
    try:
        key_in_store, info = await files.blobs.put_bytes(document, DOCX)
    except StorageUnavailable:
        raise errors.storage_down() from None
    blob = Blob(key_in_store, info.size, info.sha256, DOCX, "docx", name)
    async with files.keeping(info.sha256):
        try:
            stored = await blocking(
                files.app.record_upload,
                blob,
                owner_id=principal.account_id,
                audit=audit_of(request, principal.account_id),
                file_id=file_id,
                staff=True,
            )
        except IntegrityError:
            winner = await blocking(files.app.file, file_id) if key else None
            if winner is None:
                raise
            return replayed_upload(winner, principal, response)
        await files.listed(stored)
    log.info("files.issued", file_id=str(stored.id), form_id=form_id, fields=filled)
    return file_out(stored, principal.account_id)
