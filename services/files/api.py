"""The files service's HTTP API (``/api/v1``): uploads, downloads, the standard forms
library and filled-in applications."""

from __future__ import annotations

import asyncio
import json
import re
import unicodedata
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

import structlog
from eventsourcing.persistence import IntegrityError
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationError, field_validator, model_validator
from starlette.requests import ClientDisconnect

from services.files.app import FilesApp, form_not_found
from services.files.content import TYPES, content_disposition
from services.files.domain import KINDS, Audit, StoredFile
from services.files.forms import SPECS, SPECS_BY_CODE, fill_docx, today_ru
from services.files.storage import BlobStore, LocalBlobStore, S3BlobStore, StorageUnavailable
from services.files.upload import Received, receive_file
from shared import idempotency
from shared.auth import CurrentPrincipal, Principal, require_role
from shared.consumer import ConsumerRunner
from shared.edge import client_address
from shared.http import MAX_OFFSET, ApiError, CodePath, IdPath, answers, error_body
from shared.readstore import ReadStore
from shared.runtime import blocking
from shared.settings import Settings

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/api/v1")
T = TypeVar("T")

FORM_FORMATS = {"docx", "pdf", "odt", "xlsx"}
DOCX = TYPES["docx"][0]
KIND_ORDER = {kind: i for i, kind in enumerate(KINDS)}
CODE_ORDER = {spec.code: i for i, spec in enumerate(SPECS)}
MAX_CONCURRENT_UPLOADS = 16


# Errors are made fresh for every raise: a shared instance would keep collecting tracebacks.
def not_found() -> ApiError:
    return ApiError(404, "not_found", "Файл не найден.")


def storage_down() -> ApiError:
    return ApiError(503, "storage_unavailable", "Хранилище файлов временно недоступно, попробуйте позже.")


def not_fillable() -> ApiError:
    return ApiError(
        422, "form_not_fillable", "Эту форму нельзя заполнить автоматически: скачайте её и заполните вручную."
    )


def unsupported_form() -> ApiError:
    return ApiError(
        415, "unsupported_form_format", "Типовая форма публикуется в формате DOCX, PDF, ODT или XLSX."
    )


# state and dependencies -------------------------------------------------------------------------
@dataclass
class FilesState:
    settings: Settings
    app: FilesApp
    blobs: BlobStore
    store: ReadStore
    catalog: ConsumerRunner
    uploads: asyncio.Semaphore
    # Local blobs are content-addressed, so files with the same bytes share one: a deletion
    # removes it only when no other file has it, listed or still being recorded (by key).
    blob_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    recording: Counter[str] = field(default_factory=Counter)


@asynccontextmanager
async def recording(files: FilesState, key: str) -> AsyncIterator[None]:
    """While the bytes ``key`` are committed and recorded as a file until the catalog lists it."""
    async with files.blob_lock:
        files.recording[key] += 1
    try:
        yield
    finally:
        files.recording[key] -= 1
        if files.recording[key] <= 0:
            del files.recording[key]


def state(request: Request) -> FilesState:
    found: FilesState = request.app.state.files
    return found


State = Annotated[FilesState, Depends(state)]
Staff = Annotated[Principal, Depends(require_role("staff"))]


async def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a synchronous command of the eventsourcing application off the event loop."""
    return await blocking(fn, *args, **kwargs)


def audit_of(request: Request, actor: str) -> Audit:
    """Who did it and from where: the address as the edge saw it (never a client's own header)."""
    return {
        "actor": actor,
        "ip": client_address(request),
        "user_agent": request.headers.get("user-agent", "")[:300],
    }


# models ------------------------------------------------------------------------------------------
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


class FormsOut(BaseModel):
    items: list[FormOut]


_CONTROL = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
ROMAN = {1: "I", 2: "II", 3: "III"}
VOLTAGES = (0.22, 0.23, 0.38, 0.4, 0.69, 3, 6, 10, 15, 20, 35, 110, 150, 220, 330, 500, 750)


def ogrn_valid(value: str) -> bool:
    """ОГРН (13 digits) or ОГРНИП (15) with a correct check digit."""
    if len(value) == 13:
        return int(value[:12]) % 11 % 10 == int(value[12])
    if len(value) == 15:
        return int(value[:14]) % 13 % 10 == int(value[14])
    return False


class FillIn(BaseModel):
    """The applicant's data for a filled-in application form."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    full_name: str = Field(min_length=2, max_length=300)
    passport: str | None = Field(default=None, max_length=300)
    ogrn: str | None = Field(default=None, max_length=15)
    address: str = Field(min_length=5, max_length=500)
    object_name: str = Field(min_length=2, max_length=300)
    object_address: str = Field(min_length=5, max_length=500)
    max_power_kw: float = Field(gt=0, le=1_000_000)
    voltage_kv: float = Field(gt=0)
    reliability_category: int | str
    phone: str = Field(pattern=r"^\+?[0-9 ()\-]{7,20}$")
    email: EmailStr = Field(max_length=254)

    @field_validator("full_name", "passport", "address", "object_name", "object_address")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        if value is not None and any(unicodedata.category(ch) in _CONTROL for ch in value):
            raise ValueError("недопустимые символы")
        return value or None

    @field_validator("passport")
    @classmethod
    def _passport(cls, value: str | None) -> str | None:
        if value is not None and not re.search(r"\d{2}\s?\d{2}\s?№?\s?\d{6}", value):
            raise ValueError("укажите серию и номер паспорта (например, 4510 123456)")
        return value

    @field_validator("ogrn")
    @classmethod
    def _ogrn(cls, value: str | None) -> str | None:
        if value and not (value.isdigit() and ogrn_valid(value)):
            raise ValueError("ОГРН — 13 цифр, ОГРНИП — 15 цифр с верной контрольной цифрой")
        return value or None

    @field_validator("voltage_kv")
    @classmethod
    def _voltage(cls, value: float) -> float:
        if not any(abs(value - v) < 1e-9 for v in VOLTAGES):
            raise ValueError("выберите стандартный класс напряжения: 0,4; 6; 10; 20; 35; 110 кВ…")
        return value

    @field_validator("reliability_category")
    @classmethod
    def _category(cls, value: int | str) -> int:
        text = str(value).strip().upper()
        for number, roman in ROMAN.items():
            if text in (str(number), roman):
                return number
        raise ValueError("категория надёжности: I, II или III")

    @model_validator(mode="after")
    def _identity(self) -> FillIn:
        if not self.passport and not self.ogrn:
            raise ValueError("укажите паспортные данные или ОГРН")
        return self

    def values(self) -> dict[str, str]:
        def number(value: float) -> str:
            return f"{value:g}".replace(".", ",")

        return {
            "full_name": self.full_name,
            "passport": self.passport or "",
            "ogrn": self.ogrn or "",
            "address": self.address,
            "phone": self.phone,
            "email": str(self.email),
            "object_name": self.object_name,
            "object_address": self.object_address,
            "max_power_kw": number(self.max_power_kw),
            "voltage_kv": number(self.voltage_kv),
            "reliability_category": ROMAN[int(self.reliability_category)],
            "date": today_ru(),
        }


def file_out(stored: StoredFile, account_id: str = "") -> FileOut:
    deletable = stored.owner_id == account_id and not stored.in_use
    return FileOut(**stored.metadata(), deletable=deletable)


def form_out(row: dict[str, Any]) -> FormOut:
    spec = SPECS_BY_CODE.get(row["code"])
    return FormOut(
        id=row["form_id"],
        code=row["code"],
        title=row["title"],
        kind=row["kind"],
        kind_title=KINDS.get(row["kind"], row["kind"]),
        application_type_code=row["application_type_code"],
        format=row["format"],
        version=int(row["version"]),
        fillable=bool(spec and spec.fillable and row["format"] == "docx"),
    )


# streaming out ----------------------------------------------------------------------------------
async def blob_response(
    blobs: BlobStore, stored: StoredFile, *, cache: str = "private, no-cache"
) -> StreamingResponse:
    """The file's bytes, streamed; the first chunk is read before answering, so a store
    that is down gives 503 rather than a broken download."""
    chunks = blobs.read(stored.blob_key)
    try:
        first = await anext(chunks, b"")
    except (StorageUnavailable, KeyError):
        log.exception("files.blob_unreadable", file_id=str(stored.id))
        await chunks.aclose()
        raise storage_down() from None

    async def body() -> AsyncIterator[bytes]:
        try:
            if first:
                yield first
            async for chunk in chunks:
                yield chunk
        finally:
            await chunks.aclose()

    return StreamingResponse(
        body(),
        media_type=stored.content_type,
        headers={
            "content-length": str(stored.size),
            "content-disposition": content_disposition(stored.name),
            "x-content-type-options": "nosniff",
            "content-security-policy": "default-src 'none'; sandbox",
            "cache-control": cache,
            "etag": f'"{stored.sha256}"',
        },
    )


# files ----------------------------------------------------------------------------------------------
def replayed_upload(stored: StoredFile, principal: Principal, response: Response) -> FileOut:
    """The answer to a repeated upload: the file stored the first time."""
    if stored.deleted or stored.owner_id != principal.account_id:
        raise idempotency.reused()
    response.headers[idempotency.REPLAYED] = "true"
    return file_out(stored, principal.account_id)


async def _store_upload(
    request: Request, files: FilesState, received: Received, principal: Principal, file_id: uuid.UUID
) -> tuple[StoredFile, int]:
    """Commit the blob, then record the file; if recording fails, the blob goes too."""
    try:
        key = await received.writer.commit()
        return await call(
            files.app.record_upload,
            file_id=file_id,
            owner_id=principal.account_id,
            name=received.name,
            size=received.info.size,
            content_type=received.content_type,
            kind=received.kind,
            sha256=received.info.sha256,
            blob_key=key,
            archive_entries=received.entries,
            audit=audit_of(request, principal.account_id),
            owner_staff=principal.has("staff"),
        )
    except BaseException:
        await received.writer.abort()
        raise


def multipart_body(*text_fields: str) -> dict[str, Any]:
    """The request body of an upload route, for the contract (the route parses it as a stream)."""
    properties: dict[str, Any] = {"file": {"type": "string", "format": "binary"}}
    properties.update({name: {"type": "string", "maxLength": 300} for name in text_fields})
    schema = {"type": "object", "required": ["file"], "properties": properties}
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}}


@router.post(
    "/files",
    status_code=201,
    response_model=FileOut,
    response_model_exclude_none=False,
    responses=answers(400, 401, 413, 415, 422, 503),
    openapi_extra={**multipart_body(), **idempotency.OPENAPI},
)
async def upload(
    request: Request, response: Response, principal: CurrentPrincipal, files: State
) -> Response | FileOut:
    """Upload one file (multipart/form-data, field ``file``): PDF, JPEG, PNG, TIFF, ZIP, DOCX,
    XLSX or ODT by content, up to the configured size (25 MB by default). With
    ``Idempotency-Key`` the file's id comes from the key: a repeat answers the file stored
    the first time (``Idempotent-Replayed: true``) and stores nothing."""
    key = idempotency.key_of(request)
    file_id = idempotency.derived_id("upload", principal.account_id, key) if key else uuid.uuid4()
    if key:
        earlier = await call(files.app.file, file_id)
        if earlier is not None:
            return replayed_upload(earlier, principal, response)
    async with files.uploads:
        try:
            received = await receive_file(request, files.blobs, max_bytes=files.settings.max_upload_bytes)
        except ClientDisconnect:
            log.info("files.upload_interrupted", actor=principal.account_id)
            return Response(status_code=400)
        except StorageUnavailable:
            log.exception("files.storage_unavailable")
            raise storage_down() from None
        async with recording(files, received.info.sha256):
            try:
                stored, position = await _store_upload(request, files, received, principal, file_id)
            except IntegrityError:
                winner = await call(files.app.file, file_id) if key else None
                if winner is None:
                    raise
                return replayed_upload(winner, principal, response)  # a concurrent repeat won
            # The answer is final: the file is downloadable at once (read from the event
            # store), and the list shows it once the catalog has caught up with this event.
            await files.catalog.wait_for("files", position)
    log.info("files.uploaded", file_id=str(stored.id), size=stored.size, kind=stored.kind)
    return file_out(stored, principal.account_id)


@router.get("/files", response_model=FilesPage, responses=answers(401, 422))
async def list_files(
    principal: CurrentPrincipal,
    files: State,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> FilesPage:
    """The caller's files and the files shared with them, newest first."""
    where = "WHERE owner_id = $1 OR file_id IN (SELECT file_id FROM files_parties WHERE account_id = $1)"
    total = await files.store.fetchval(f"SELECT COUNT(*) FROM files_files {where}", principal.account_id)  # noqa: S608
    rows = await files.store.fetch(
        f"SELECT * FROM files_files {where} ORDER BY uploaded_at DESC, file_id LIMIT $2 OFFSET $3",  # noqa: S608
        principal.account_id,
        limit,
        offset,
    )
    mine = [r["file_id"] for r in rows if r["owner_id"] == principal.account_id]
    forms = {r["file_id"] for r in await files.store.fetch("SELECT file_id FROM files_forms")}
    deletable = await call(files.app.deletable, [i for i in mine if i not in forms], principal.account_id)
    items = [
        FileOut(
            id=row["file_id"],
            name=row["name"],
            size=int(row["size"]),
            content_type=row["content_type"],
            sha256=row["sha256"],
            archive_entries=None if row["archive_entries"] is None else json.loads(row["archive_entries"]),
            uploaded_at=row["uploaded_at"],
            deletable=row["file_id"] in deletable,
        )
        for row in rows
    ]
    return FilesPage(items=items, total=int(total or 0), limit=limit, offset=offset)


async def readable(files: FilesState, file_id: str, principal: Principal) -> StoredFile:
    """The file if the caller may read it; 404 otherwise (its existence is not revealed)."""
    try:
        key = uuid.UUID(file_id)
    except ValueError:
        raise not_found() from None
    stored = await call(files.app.file, key)
    if stored is None or not stored.can_read(principal.account_id, principal.has("staff")):
        raise not_found()
    return stored


@router.get("/files/{file_id}/meta", response_model=FileOut, responses=answers(401, 404))
async def file_meta(file_id: IdPath, principal: CurrentPrincipal, files: State) -> FileOut:
    stored = await readable(files, file_id, principal)
    if await _is_form(files, file_id):
        return file_out(stored)
    return file_out(stored, principal.account_id)


async def _is_form(files: FilesState, file_id: str) -> bool:
    return bool(await files.store.fetchval("SELECT COUNT(*) FROM files_forms WHERE file_id = $1", file_id))


@router.delete("/files/{file_id}", status_code=204, response_class=Response, responses=answers(401, 404, 409))
async def delete_file(
    file_id: IdPath, request: Request, principal: CurrentPrincipal, files: State
) -> Response:
    """Delete one of your own uploads that is attached to no application or chat message
    (409 otherwise); anyone else's file is not found. Its bytes are removed after the event."""
    try:
        key = uuid.UUID(file_id)
    except ValueError:
        raise not_found() from None
    stored, position = await call(
        files.app.delete_file,
        key,
        principal.account_id,
        audit_of(request, principal.account_id),
        form=await _is_form(files, file_id),
    )
    await files.catalog.wait_for("files", position)
    await remove_blob(files, stored)
    log.info("files.deleted", file_id=file_id)
    return Response(status_code=204)


async def remove_blob(files: FilesState, stored: StoredFile) -> None:
    """The bytes of a deleted file. On S3 each upload has its own key; a local blob is
    content-addressed, so it stays while another file, listed or being recorded, has it."""
    blobs = files.blobs
    try:
        if isinstance(blobs, S3BlobStore):
            await blobs.delete(stored.blob_key)
            return
        if not isinstance(blobs, LocalBlobStore):
            return
        async with files.blob_lock:
            others = await files.store.fetchval(
                "SELECT COUNT(*) FROM files_files WHERE sha256 = $1", stored.sha256
            )
            if not others and not files.recording.get(stored.blob_key):
                await blobs.run(blobs.path_of(stored.blob_key).unlink, True)
    except Exception:  # the file is deleted; a leftover blob only takes space
        log.exception("files.blob_not_removed", file_id=str(stored.id))


@router.get("/files/{file_id}", response_class=StreamingResponse, responses=answers(401, 404, 503))
async def download(file_id: IdPath, principal: CurrentPrincipal, files: State) -> StreamingResponse:
    """The file itself, as an attachment under its original name."""
    return await blob_response(files.blobs, await readable(files, file_id, principal))


# forms ----------------------------------------------------------------------------------------------
async def _form_row(files: FilesState, form_id: str) -> dict[str, Any]:
    try:
        uuid.UUID(form_id)
    except ValueError:
        raise form_not_found() from None
    row = await files.store.fetchrow("SELECT * FROM files_forms WHERE form_id = $1", form_id)
    if row is None:
        raise form_not_found()
    return row


def _ordered(rows: list[dict[str, Any]]) -> list[FormOut]:
    rows.sort(
        key=lambda r: (KIND_ORDER.get(r["kind"], 9), CODE_ORDER.get(r["code"], 99), r["code"], -r["version"])
    )
    return [form_out(r) for r in rows]


@router.get("/forms", response_model=FormsOut, responses=answers(422))
async def list_forms(files: State, kind: str | None = None) -> FormsOut:
    """The standard forms, newest version of each («Типовые формы»); no login needed."""
    rows = await files.store.fetch(
        "SELECT * FROM files_forms f WHERE f.version = (SELECT MAX(g.version) FROM files_forms g"
        " WHERE g.code = f.code)"
    )
    return FormsOut(items=[f for f in _ordered(rows) if kind is None or f.kind == kind])


@router.get("/forms/{code}/versions", response_model=FormsOut, responses=answers(404))
async def form_versions(code: CodePath, files: State) -> FormsOut:
    """Every published version of one form, newest first."""
    rows = await files.store.fetch("SELECT * FROM files_forms WHERE code = $1", code)
    if not rows:
        raise form_not_found()
    return FormsOut(items=_ordered(rows))


@router.get("/forms/{form_id}", response_model=FormOut, responses=answers(404))
async def form_meta(form_id: IdPath, files: State) -> FormOut:
    return form_out(await _form_row(files, form_id))


async def _form_file(files: FilesState, row: dict[str, Any]) -> StoredFile:
    stored = await call(files.app.file, uuid.UUID(row["file_id"]))
    if stored is None:  # the catalog only lists forms whose file is saved with them
        raise form_not_found()
    return stored


@router.get("/forms/{form_id}/file", response_class=StreamingResponse, responses=answers(404, 503))
async def form_file(form_id: IdPath, files: State) -> StreamingResponse:
    """Download one version of a standard form; no login needed. A version never changes."""
    stored = await _form_file(files, await _form_row(files, form_id))
    return await blob_response(files.blobs, stored, cache="public, max-age=86400, immutable")


async def _publish(
    files: FilesState, code: str, received: Received, title: str, audit: Audit
) -> tuple[dict[str, Any], int]:
    """Commit the blob, then record the new version with its file; if that fails, the blob goes."""
    try:
        key = await received.writer.commit()
        stored_file = files.app.new_file(
            owner_id=audit["actor"],
            name=received.name,
            size=received.info.size,
            content_type=received.content_type,
            kind=received.kind,
            sha256=received.info.sha256,
            blob_key=key,
            archive_entries=None,
            audit=audit,
            owner_staff=True,
        )
        return await call(
            files.app.publish_new_version,
            code=code,
            file=stored_file,
            format=received.kind,
            title=title,
            audit=audit,
        )
    except BaseException:
        await received.writer.abort()
        raise


@router.post(
    "/forms/{code}/versions",
    status_code=201,
    response_model=FormOut,
    responses=answers(400, 401, 403, 404, 409, 413, 415, 422, 503),
    openapi_extra=multipart_body("title"),
)
async def publish_version(
    code: CodePath, request: Request, principal: Staff, files: State
) -> Response | FormOut:
    """Staff publish a new version of a form (multipart ``file``: DOCX, PDF, ODT or XLSX;
    optional ``title``). Older versions stay downloadable by their id."""
    if await call(files.app.series, code) is None:
        raise form_not_found()
    async with files.uploads:
        try:
            received = await receive_file(
                request,
                files.blobs,
                max_bytes=files.settings.max_upload_bytes,
                allowed=FORM_FORMATS,
                unsupported=unsupported_form,
            )
        except ClientDisconnect:
            return Response(status_code=400)
        except StorageUnavailable:
            raise storage_down() from None
        title = " ".join(received.fields.get("title", "").split())[:300]
        title = "".join(ch for ch in title if unicodedata.category(ch) not in _CONTROL)
        audit = audit_of(request, principal.account_id)
        async with recording(files, received.info.sha256):
            item, position = await _publish(files, code, received, title, audit)
            await files.catalog.wait_for("files", position)
    row = await files.store.fetchrow("SELECT * FROM files_forms WHERE form_id = $1", item["id"])
    if row is None:  # the catalog is behind (timeout): answer from the command's result
        row = {**item, "form_id": item["id"]}
    return form_out(row)


_MESSAGES = {
    "missing": "обязательное поле",
    "string_type": "ожидается строка",
    "string_too_short": "слишком короткое значение",
    "string_too_long": "слишком длинное значение",
    "string_pattern_mismatch": "недопустимый формат",
    "float_parsing": "ожидается число",
    "float_type": "ожидается число",
    "greater_than": "значение должно быть больше нуля",
    "less_than_equal": "слишком большое значение",
    "extra_forbidden": "неизвестное поле",
    "value_error": "недопустимое значение",
}


def _invalid(exc: ValidationError) -> JSONResponse:
    """422 with a Russian message per field (the rule's own words for our validators)."""
    errors = []
    for err in exc.errors():
        kind = str(err.get("type", ""))
        message = _MESSAGES.get(kind, "недопустимое значение")
        if kind == "value_error" and err.get("ctx", {}).get("error"):
            message = str(err["ctx"]["error"])
        errors.append(
            {"field": ".".join(str(p) for p in err.get("loc", ())), "code": kind, "message": message}
        )
    return JSONResponse(error_body("validation_error", "Проверьте заполнение полей.", errors=errors), 422)


@router.post(
    "/forms/{form_id}/fill",
    response_class=Response,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": FillIn.model_json_schema()}},
        },
        "responses": {"200": {"content": {DOCX: {}}, "description": "Заполненная заявка (DOCX)"}},
    },
    responses=answers(400, 404, 422, 503),
)
async def fill_form(form_id: IdPath, request: Request, files: State) -> Response:
    """The application form filled in with the applicant's data (JSON: full_name, passport
    or ogrn, address, object_name, object_address, max_power_kw, voltage_kv,
    reliability_category, phone, email), as DOCX ready to sign. No login; nothing stored."""
    raw = await request.body()
    try:
        body = FillIn.model_validate_json(raw)
    except ValidationError as exc:
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            return JSONResponse(
                error_body("malformed_json", "Тело запроса не является корректным JSON."), 400
            )
        return _invalid(exc)
    row = await _form_row(files, form_id)
    spec = SPECS_BY_CODE.get(row["code"])
    if spec is None or not spec.fillable or row["format"] != "docx":
        raise not_fillable()
    low, high = spec.power_range
    if body.max_power_kw <= low or (high is not None and body.max_power_kw > high):
        upto = f"до {high:g} кВт включительно" if high is not None else ""
        span = upto if not low else f"свыше {low:g} кВт" + (f" и {upto}" if upto else "")
        raise ApiError(422, "power_out_of_range", f"Для этой формы заявки максимальная мощность — {span}.")
    if spec.id_fields and not any(getattr(body, f) for f in spec.id_fields):
        need = "паспортные данные" if spec.id_fields == ("passport",) else "ОГРН (ОГРНИП)"
        raise ApiError(422, "identity_required", f"Для этой формы заявки укажите {need}.")
    stored = await _form_file(files, row)
    try:
        template = await files.blobs.read_bytes(stored.blob_key)
    except (StorageUnavailable, KeyError):
        raise storage_down() from None
    try:
        document, filled = await blocking(fill_docx, template, body.values())
    except Exception:
        log.exception("files.fill_failed", form_id=form_id)
        raise not_fillable() from None
    if not filled:
        raise not_fillable()
    return Response(
        document,
        media_type=DOCX,
        headers={
            "content-disposition": content_disposition(f"{row['title']} (заполнена).docx"),
            "x-content-type-options": "nosniff",
            "cache-control": "no-store",
        },
    )
