"""Applications' HTTP API (``/api/v1``): the catalog, submission, the status workflow,
the consumer's list and the staff queue."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from typing import Annotated, Any, Literal

from eventsourcing.persistence import IntegrityError
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from services.applications.app import Actor, ApplicationsApp, not_found, today
from services.applications.workflow import CONSUMER, FINAL, STAFF, STATUS_TITLES, next_steps
from shared import idempotency
from shared.auth import CurrentPrincipal, Principal, require_role
from shared.consumer import ConsumerRunner
from shared.http import MAX_OFFSET, ApiError, CodePath, IdPath, answers
from shared.readstore import ReadStore
from shared.runtime import blocking

router = APIRouter(prefix="/api/v1")
DOCUMENTS_ADDED = "Заявитель добавил документы"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Contact(_Strict):
    phone: str = Field(min_length=5, max_length=32, pattern=r"^[0-9+()\- ]+$")
    email: EmailStr = Field(max_length=254)


class DocumentIn(_Strict):
    slot: str = Field(min_length=1, max_length=64)
    file_id: str = Field(min_length=1, max_length=64)


class SubmitIn(_Strict):
    type_code: str = Field(min_length=1, max_length=64)
    power_kw: float = Field(gt=0, le=1_000_000)
    object_address: str = Field(min_length=5, max_length=500)
    contact: Contact
    documents: list[DocumentIn] = Field(min_length=1, max_length=30)
    comment: str = Field(default="", max_length=2000)


class TransitionIn(_Strict):
    to_status: str = Field(min_length=1, max_length=32)
    comment: str = Field(default="", max_length=2000)
    expected_version: int | None = Field(default=None, ge=1)


class DocumentsIn(_Strict):
    documents: list[DocumentIn] = Field(min_length=1, max_length=30)


class DocumentTypeIn(_Strict):
    code: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=300)
    required: bool


class TypeIn(_Strict):
    title: str = Field(min_length=3, max_length=300)
    description: str = Field(max_length=5000)
    max_power_kw: float = Field(gt=0, le=1_000_000)
    terms: str = Field(max_length=5000)
    procedure: str = Field(max_length=5000)
    payment: str = Field(max_length=5000)
    fees: list[dict[str, Any]] = Field(default_factory=list, max_length=100)
    documents: list[DocumentTypeIn] = Field(min_length=1, max_length=30)
    deadlines: dict[str, dict[Literal["working_days", "months"], Annotated[int, Field(ge=1, le=3650)]]] = (
        Field(default_factory=dict, max_length=20)
    )


def state(request: Request) -> Any:
    return request.app.state


def actor_role(principal: Principal) -> str:
    return STAFF if principal.has(STAFF) else CONSUMER


async def actor_of(request: Request, principal: Principal) -> Actor:
    """Who acts, with the name and e-mail the references projection knows."""
    store: ReadStore = state(request).store
    row = None
    for _ in range(60):  # a just-registered account may still be on its way
        row = await store.fetchrow(
            "SELECT email, display_name FROM applications_accounts WHERE account_id = $1",
            principal.account_id,
        )
        if row:
            break
        await asyncio.sleep(0.05)
    return Actor(
        principal.account_id,
        actor_role(principal),
        row["display_name"] if row else "",
        row["email"] if row else "",
    )


async def owned_files(request: Request, owner_id: str, file_ids: list[str]) -> dict[str, dict[str, str]]:
    """file id → {content_type, name}, for the ids ``owner_id`` uploaded (waits briefly for fresh uploads)."""
    store: ReadStore = state(request).store
    found: dict[str, dict[str, str]] = {}
    for attempt in range(60):
        found = {}
        for file_id in file_ids:
            row = await store.fetchrow(
                "SELECT owner_id, content_type, name FROM applications_files WHERE file_id = $1", file_id
            )
            if row and row["owner_id"] == owner_id:
                found[file_id] = {"content_type": row["content_type"], "name": row["name"]}
        if len(found) == len(set(file_ids)) or attempt == 59:
            break
        await asyncio.sleep(0.05)
    return found


async def documents_of(
    request: Request, owner_id: str, body: list[DocumentIn]
) -> tuple[list[dict[str, str]], dict[str, str]]:
    """The documents as the command records them (with the files' names) and the owned
    files' content types."""
    documents = [d.model_dump() for d in body]
    files = await owned_files(request, owner_id, [d["file_id"] for d in documents])
    for doc in documents:
        doc["name"] = files.get(doc["file_id"], {}).get("name", "")
    return documents, {k: v["content_type"] for k, v in files.items()}


def side_columns(first: int) -> str:
    """Columns computed per row of ``applications_rows r`` for the caller's side: chat messages
    of the other side (``$first``) after the read mark of the caller's side (``$first + 1``),
    and who changed the status last. Pass :func:`sides` as those two arguments."""
    return (
        "(SELECT COUNT(*) FROM applications_chat_messages m WHERE m.thread_id = r.application_id"  # noqa: S608
        f" AND m.author_role = ${first} AND m.seq > COALESCE((SELECT c.up_to_seq FROM"
        " applications_chat_reads c WHERE c.thread_id = r.application_id"
        f" AND c.reader_role = ${first + 1}), 0)) AS unread_messages,"
        " (SELECT t.actor_role FROM applications_timeline t WHERE t.application_id = r.application_id"
        " ORDER BY t.version DESC LIMIT 1) AS last_actor_role"
    )


def sides(principal: Principal) -> tuple[str, str]:
    """(the other side, the caller's side) for :func:`side_columns`."""
    role = actor_role(principal)
    return (CONSUMER if role == STAFF else STAFF), role


def deadline(app: ApplicationsApp, status: str, due: str | None) -> dict[str, Any] | None:
    if not due or status in FINAL:
        return None
    due_date = date.fromisoformat(due)
    now = today()
    return {
        "due": due,
        "working_days_left": app.calendar.working_days_between(now, due_date),
        "overdue": now > due_date,
    }


def row_out(app: ApplicationsApp, row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["application_id"],
        "number": row["number"],
        "type_code": row["type_code"],
        "type_title": row["type_title"],
        "status": row["status"],
        "status_title": STATUS_TITLES[row["status"]],
        "power_kw": row["power_kw"],
        "object_address": row["object_address"],
        "applicant_name": row["applicant_name"],
        "submitted_at": row["submitted_at"],
        "updated_at": row["updated_at"],
        "status_since": row["status_since"],
        "version": row["version"],
        "deadline": deadline(app, row["status"], row["due"]),
        "unread_messages": int(row.get("unread_messages") or 0),
        # Returned to «В работе» by the applicant's upload of the requested documents, and not
        # moved by staff since.
        "documents_received": row["status"] == "in_work" and row.get("last_actor_role") == CONSUMER,
    }


def status_entry(t: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "status",
        "version": t["version"],
        "from_status": t["from_status"],
        "to_status": t["to_status"],
        "to_title": STATUS_TITLES[t["to_status"]],
        "actor_role": t["actor_role"],
        "actor_name": t["actor_name"],
        "comment": t["comment"],
        "at": t["at"],
        "documents": [],
    }


def documents_entry(version: int, documents: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "kind": "documents",
        "version": version,
        "from_status": None,
        "to_status": None,
        "to_title": DOCUMENTS_ADDED,
        "actor_role": CONSUMER,
        "actor_name": "",
        "comment": "",
        "at": documents[0]["added_at"],
        "documents": documents,
    }


def history(timeline: list[dict[str, Any]], documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Status changes and the documents the applicant added later (versions after the
    submission), in the order they happened."""
    added: dict[int, list[dict[str, Any]]] = {}
    for doc in documents:
        if doc["version"] > 1:
            added.setdefault(doc["version"], []).append(doc)
    entries = [status_entry(t) for t in timeline] + [documents_entry(v, d) for v, d in added.items()]
    return sorted(entries, key=lambda e: int(e["version"]))


async def detail(request: Request, application_id: str, principal: Principal) -> dict[str, Any]:
    s = state(request)
    row = await s.store.fetchrow(
        f"SELECT r.*, {side_columns(2)}, c.phone AS contact_phone, c.email AS contact_email,"  # noqa: S608
        " c.comment AS contact_comment FROM applications_rows r LEFT JOIN applications_contacts c"
        " ON c.application_id = r.application_id WHERE r.application_id = $1",
        application_id,
        *sides(principal),
    )
    if row is None or (not principal.has(STAFF) and row["applicant_id"] != principal.account_id):
        raise not_found()
    timeline = await s.store.fetch(
        "SELECT * FROM applications_timeline WHERE application_id = $1 ORDER BY version", application_id
    )
    documents = await s.store.fetch(
        "SELECT d.file_id, d.slot, d.version, d.added_at, f.name, f.size, f.content_type"
        " FROM applications_slots d LEFT JOIN applications_files f ON f.file_id = d.file_id"
        " WHERE d.application_id = $1 ORDER BY d.version, d.slot, d.file_id",
        application_id,
    )
    kind = s.app.types.get(row["type_code"], {})
    titles = {d["code"]: d["title"] for d in kind.get("documents", [])} | {
        "archive": "Архив документов (ZIP)"
    }
    documents = [{**d, "slot_title": titles.get(d["slot"], d["slot"])} for d in documents]
    return {
        **row_out(s.app, row),
        "applicant_id": row["applicant_id"],
        "contact": {"phone": row["contact_phone"] or "", "email": row["contact_email"] or ""},
        "comment": row["contact_comment"] or "",
        "timeline": history(timeline, documents),
        "documents": documents,
        "allowed_transitions": next_steps(actor_role(principal), row["status"]),
    }


async def caught_up(request: Request, application_id: str, version: int) -> bool:
    """Read-your-writes: wait until the views have applied the application's new version
    (False if they could not: the service's relay is stalled, or the wait timed out)."""
    runners: list[ConsumerRunner] = [state(request).view, state(request).documents]
    done = await asyncio.gather(
        *(r.wait_for_subject("applications", application_id, version, timeout=5.0) for r in runners)
    )
    return all(done)


def as_committed(body: dict[str, Any], claim: Any, principal: Principal) -> dict[str, Any]:
    """The detail answer with the command's own result where the views are behind."""
    return {
        **body,
        "status": claim.status,
        "status_title": STATUS_TITLES[claim.status],
        "version": claim.version,
        "allowed_transitions": next_steps(actor_role(principal), claim.status),
    }


def parse_id(application_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(application_id)
    except ValueError:
        raise not_found() from None


# catalog ----------------------------------------------------------------------------------
async def type_out(request: Request, data: dict[str, Any]) -> dict[str, Any]:
    forms = await state(request).store.fetch(
        "SELECT form_id FROM applications_forms WHERE type_code = $1", data["code"]
    )
    keys = (
        "code",
        "title",
        "description",
        "max_power_kw",
        "terms",
        "procedure",
        "payment",
        "fees",
        "documents",
        "deadlines",
    )
    return {**{k: data.get(k) for k in keys}, "forms": [f["form_id"] for f in forms]}


@router.get("/application-types")
async def list_types(request: Request) -> dict[str, Any]:
    """The catalog of application types (no login needed)."""
    return {"items": [await type_out(request, data) for data in state(request).app.types.values()]}


@router.get("/application-types/{code}", responses=answers(404))
async def get_type(code: CodePath, request: Request) -> dict[str, Any]:
    data = state(request).app.types.get(code)
    if data is None:
        raise ApiError(404, "not_found", "Такого вида заявки нет в каталоге.")
    return await type_out(request, data)


@router.put("/application-types/{code}", responses=answers(401, 403, 409, 422))
async def put_type(
    code: CodePath,
    body: TypeIn,
    request: Request,
    principal: Annotated[Principal, Depends(require_role("admin"))],
) -> dict[str, Any]:
    """Create or edit a catalog entry (admins)."""
    if not code.replace("_", "").isalnum() or len(code) > 64:
        raise ApiError(422, "invalid_code", "Код вида заявки: латинские буквы, цифры и подчёркивание.")
    unknown = set(body.deadlines) - set(STATUS_TITLES)
    if unknown:
        raise ApiError(422, "unknown_status", "Неизвестный статус в сроках: " + ", ".join(sorted(unknown)))
    data = await blocking(state(request).app.put_type, code, body.model_dump(), principal.account_id)
    return await type_out(request, data)


# applications --------------------------------------------------------------------------------
@router.post(
    "/applications",
    status_code=201,
    responses=answers(400, 401, 403, 409, 422),
    openapi_extra=idempotency.OPENAPI,
)
async def submit(
    body: SubmitIn, request: Request, response: Response, principal: CurrentPrincipal
) -> dict[str, Any]:
    """«Отправить заявку на ТП»: a confirmed consumer files an application with documents.
    With ``Idempotency-Key`` a repeat answers the application filed the first time
    (``Idempotent-Replayed: true``); the same key for another request is refused (422)."""
    s = state(request)
    actor = await actor_of(request, principal)
    if actor.role != CONSUMER:
        raise ApiError(403, "forbidden", "Заявку на ТП подаёт потребитель.")
    keyed = idempotency.keyed(request, "application", actor.account_id, body.model_dump(mode="json"))
    earlier = await blocking(s.app.submitted_before, keyed)
    if earlier is not None:
        response.headers[idempotency.REPLAYED] = "true"
        return {"id": str(earlier.id), "number": earlier.number, "status": earlier.status}
    documents, owned = await documents_of(request, actor.account_id, body.documents)
    # Every rule first: a refused submission takes no number (the series has no gaps from it).
    s.app.check_submission(
        actor=actor, type_code=body.type_code, power_kw=body.power_kw, documents=documents, owned=owned
    )
    number = await s.numbers.next()
    try:
        claim, _ = await blocking(
            s.app.submit,
            actor=actor,
            number=number,
            type_code=body.type_code,
            power_kw=body.power_kw,
            object_address=body.object_address.strip(),
            contact_phone=body.contact.phone,
            contact_email=str(body.contact.email),
            comment=body.comment,
            documents=documents,
            owned=owned,
            request=keyed,
        )
    except IntegrityError:
        winner = await blocking(s.app.submitted_before, keyed)
        if winner is None:
            raise
        claim = winner  # an identical request a moment earlier won (its number stands)
        response.headers[idempotency.REPLAYED] = "true"
    await caught_up(request, str(claim.id), claim.version)
    return {"id": str(claim.id), "number": claim.number, "status": claim.status}


@router.get("/applications", responses=answers(401, 422))
async def list_applications(
    request: Request,
    principal: CurrentPrincipal,
    status: Annotated[str | None, Query(max_length=32)] = None,
    type: Annotated[str | None, Query(max_length=64)] = None,
    overdue: bool | None = None,
    q: Annotated[str, Query(max_length=100)] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> dict[str, Any]:
    """«Заявки на услуги» for a consumer (own only); the queue for staff, overdue first."""
    s = state(request)
    where, args = [], []
    if not principal.has(STAFF):
        args.append(principal.account_id)
        where.append(f"applicant_id = ${len(args)}")
    if status:
        if status not in STATUS_TITLES:
            raise ApiError(422, "unknown_status", "Неизвестный статус.")
        args.append(status)
        where.append(f"status = ${len(args)}")
    if type:
        args.append(type)
        where.append(f"type_code = ${len(args)}")
    if q.strip():
        args.append(f"%{q.strip().casefold()}%")
        where.append(f"search LIKE ${len(args)}")
    if overdue is not None:
        args.append(today().isoformat())
        late = f"(status NOT IN ('completed', 'annulled') AND due IS NOT NULL AND due < ${len(args)})"
        where.append(late if overdue else f"NOT {late}")
    clause = ("WHERE " + " AND ".join(where)) if where else ""
    order = (
        "ORDER BY CASE WHEN status IN ('completed', 'annulled') OR due IS NULL THEN 1 ELSE 0 END, due, submitted_at"
        if principal.has(STAFF)
        else "ORDER BY submitted_at DESC"
    )
    total = await s.store.fetchval(f"SELECT COUNT(*) FROM applications_rows {clause}", *args)  # noqa: S608
    n = len(args)
    rows = await s.store.fetch(
        f"SELECT r.*, {side_columns(n + 1)} FROM applications_rows r {clause} {order}"  # noqa: S608
        f" LIMIT ${n + 3} OFFSET ${n + 4}",
        *args,
        *sides(principal),
        limit,
        offset,
    )
    return {
        "items": [row_out(s.app, r) for r in rows],
        "total": int(total or 0),
        "limit": limit,
        "offset": offset,
    }


@router.get("/applications/{application_id}", responses=answers(401, 404))
async def get_application(
    application_id: IdPath, request: Request, principal: CurrentPrincipal
) -> dict[str, Any]:
    parse_id(application_id)
    return await detail(request, application_id, principal)


@router.post("/applications/{application_id}/transitions", responses=answers(401, 403, 404, 409, 422))
async def transition(
    application_id: IdPath, body: TransitionIn, request: Request, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Staff move the status one step, request documents or annul; the applicant may withdraw."""
    key = parse_id(application_id)
    actor = await actor_of(request, principal)
    claim, _ = await blocking(
        state(request).app.transition, key, actor, body.to_status, body.comment, body.expected_version
    )
    if await caught_up(request, application_id, claim.version):
        return await detail(request, application_id, principal)
    return as_committed(await detail(request, application_id, principal), claim, principal)


@router.post("/applications/{application_id}/documents", responses=answers(401, 403, 404, 409, 422))
async def add_documents(
    application_id: IdPath, body: DocumentsIn, request: Request, principal: CurrentPrincipal
) -> dict[str, Any]:
    """The applicant adds the documents staff asked for (status «Требуются документы»); the
    application returns to «В работе» at once, its term counted from this upload."""
    key = parse_id(application_id)
    actor = await actor_of(request, principal)
    documents, owned = await documents_of(request, actor.account_id, body.documents)
    claim, _ = await blocking(state(request).app.add_documents, key, actor, documents, owned)
    await caught_up(request, application_id, claim.version)
    return await detail(request, application_id, principal)
