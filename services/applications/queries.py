"""The read side's questions: one application's page, the lists and the queue. Everything
comes from the service's own read store (the catalog's answers: catalog_view.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.applications.actor import role_of
from services.applications.answers import history, row_out
from services.applications.app import not_found, today
from services.applications.calendar import local_day
from services.applications.facts import process_facts
from services.applications.invoice import Invoice
from services.applications.rules import ARCHIVE_SLOT, ARCHIVE_TITLE
from services.applications.schedule import dated, deadlines_of, invoice_due, latest
from services.applications.state import ApplicationsState
from services.applications.workflow import CONSUMER, STAFF, next_steps
from shared.auth import Principal
from shared.errors import Forbidden, Invalid, NotFound
from shared.references import table
from shared.statuses import TITLES

FILES = table("applications", "files")


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
    role = role_of(principal)
    return (CONSUMER if role == STAFF else STAFF), role


async def detail(state: ApplicationsState, application_id: str, principal: Principal) -> dict[str, Any]:
    """The application's page: the row, contact, history, documents per slot, next steps."""
    row = await state.store.fetchrow(
        f"SELECT r.*, {side_columns(2)}, c.phone AS contact_phone, c.email AS contact_email,"  # noqa: S608
        " c.comment AS contact_comment FROM applications_rows r LEFT JOIN applications_contacts c"
        " ON c.application_id = r.application_id WHERE r.application_id = $1",
        application_id,
        *sides(principal),
    )
    if row is None or (not principal.has(STAFF) and row["applicant_id"] != principal.account_id):
        raise not_found()
    timeline = await state.store.fetch(
        "SELECT * FROM applications_timeline WHERE application_id = $1 ORDER BY version", application_id
    )
    documents = await state.store.fetch(
        "SELECT d.file_id, d.slot, d.version, d.added_at, f.name, f.size, f.content_type"  # noqa: S608
        f" FROM applications_slots d LEFT JOIN {FILES} f ON f.file_id = d.file_id"
        " WHERE d.application_id = $1 ORDER BY d.version, d.slot, d.file_id",
        application_id,
    )
    facts = await process_facts(state.store, application_id)
    steps = next_steps(role_of(principal), row["status"])
    # After the contract is concluded the applicant terminates it; a withdrawal is no more.
    withdrawal_barred = role_of(principal) != STAFF and bool(
        facts["offer"] and facts["offer"]["concluded_on"]
    )
    kind = state.app.types.get(row["type_code"], {})
    app, tz = state.app, state.app.settings.time_zone
    if facts["invoice"] is not None:  # the invoice says what the payment deadline says
        due = invoice_due(row, kind, facts, calendar=app.calendar, tz=tz)
        facts["invoice"]["due"] = due.isoformat() if due else facts["invoice"]["due"]
    deadlines = deadlines_of(row, kind, facts, app.now(), calendar=app.calendar, tz=tz)
    titles = {d["code"]: d["title"] for d in kind.get("documents", [])} | {ARCHIVE_SLOT: ARCHIVE_TITLE}
    documents = [{**d, "slot_title": titles.get(d["slot"], d["slot"])} for d in documents]
    return {
        **row_out(state.app.calendar, row),
        "applicant_id": row["applicant_id"],
        "contact": {"phone": row["contact_phone"] or "", "email": row["contact_email"] or ""},
        "comment": row["contact_comment"] or "",
        "timeline": history(timeline, documents),
        "documents": documents,
        **facts,
        "deadlines": deadlines,
        "allowed_transitions": [s for s in steps if not (s == "annulled" and withdrawal_barred)],
    }


# Who must act in each open status (../shared/DOMAIN.md, the process table): the queue's
# «Просрочено сетевой организацией» and «Ждём заявителя». An applicant who refused the offer
# waits for a new one: that contract stage is the grid company's.
DUTY: dict[str, tuple[str, ...]] = {
    "grid_company": ("submitted", "in_work", "activities", "tu_check", "acts"),
    "applicant": ("needs_documents", "contract"),
}
REFUSED = (
    "EXISTS (SELECT 1 FROM applications_offers o WHERE o.application_id = r.application_id"
    " AND o.refusal IS NOT NULL)"
)
ASSIGNEE = "(SELECT a.{} FROM applications_assignees a WHERE a.application_id = r.application_id)"


@dataclass(frozen=True)
class Filters:
    """What the list is narrowed to (all optional); ``q`` searches number, name and address.
    ``overdue_by`` and ``waiting`` name a duty holder (:data:`DUTY`): its due date passed, or
    it must act; ``assignee`` is an account id (staff's «Мои заявки»), or "" for nobody's."""

    status: str | None = None
    type: str | None = None
    overdue: bool | None = None
    q: str = ""
    overdue_by: str | None = None
    waiting: str | None = None
    assignee: str | None = None


def _duty(holder: str) -> str:
    """SQL: the application waits for ``holder`` (a key of :data:`DUTY`)."""
    statuses = ", ".join(f"'{s}'" for s in DUTY[holder])
    if holder == "grid_company":
        return f"(status IN ({statuses}) OR (status = 'contract' AND {REFUSED}))"
    return f"(status IN ({statuses}) AND NOT (status = 'contract' AND {REFUSED}))"


def _where(principal: Principal, filters: Filters) -> tuple[str, list[Any]]:
    where: list[str] = []
    args: list[Any] = []

    def term(sql: str, value: Any) -> None:
        args.append(value)
        where.append(sql.format(f"${len(args)}"))

    if not principal.has(STAFF):
        term("applicant_id = {}", principal.account_id)
    if filters.status:
        if filters.status not in TITLES:
            raise Invalid("unknown_status", "Неизвестный статус.")
        term("status = {}", filters.status)
    if filters.type:
        term("type_code = {}", filters.type)
    if filters.q.strip():
        term("search LIKE {}", f"%{filters.q.strip().casefold()}%")
    if filters.overdue is not None:
        late = "(status NOT IN ('completed', 'annulled') AND due IS NOT NULL AND due < {})"
        term(late if filters.overdue else f"NOT {late}", today().isoformat())
    if filters.overdue_by:
        term(f"({_duty(filters.overdue_by)} AND due IS NOT NULL AND due < {{}})", today().isoformat())
    if filters.waiting:
        where.append(_duty(filters.waiting))
    if filters.assignee is not None:
        if not principal.has(STAFF):
            raise Forbidden("forbidden", "Отбор по исполнителю доступен сотрудникам сетевой организации.")
        term(f"COALESCE({ASSIGNEE.format('assignee_id')}, '') = {{}}", filters.assignee)
    return ("WHERE " + " AND ".join(where)) if where else "", args


QUEUE_ORDER = (
    "CASE WHEN status IN ('completed', 'annulled') OR due IS NULL THEN 1 ELSE 0 END, due, submitted_at"
)
"""The staff queue's order: open with a due date first, soonest first (the index
``applications_rows_queue`` holds it, projections/view.py)."""


async def listing(
    state: ApplicationsState, principal: Principal, filters: Filters, limit: int, offset: int
) -> dict[str, Any]:
    """«Заявки на услуги» for a consumer (own only); the queue for staff, overdue first.

    The page's ids are found first (an index gives the queue's order, or the applicant's
    own rows), then only its rows are read with their computed columns. A search by text
    scans the rows anyway: its few matches are sorted rather than the index walked."""
    clause, args = _where(principal, filters)
    if principal.has(STAFF):
        order = "ORDER BY " + QUEUE_ORDER
        inner = f"ORDER BY +{QUEUE_ORDER}" if filters.q.strip() else order  # unary +: no index walk
    else:
        order = inner = "ORDER BY submitted_at DESC"
    total = await state.store.fetchval(f"SELECT COUNT(*) FROM applications_rows r {clause}", *args)  # noqa: S608
    n = len(args)
    rows = await state.store.fetch(
        f"SELECT r.*, {side_columns(n + 1)}, {ASSIGNEE.format('assignee_id')} AS assignee_id,"  # noqa: S608
        f" {ASSIGNEE.format('assignee_name')} AS assignee_name FROM (SELECT application_id FROM"
        f" applications_rows r {clause} {inner} LIMIT ${n + 3} OFFSET ${n + 4}) page"
        f" JOIN applications_rows r ON r.application_id = page.application_id {order}",
        *args,
        *sides(principal),
        limit,
        offset,
    )
    items = [row_out(state.app.calendar, r) for r in rows]
    if principal.has(STAFF):  # who holds each, for staff only («Исполнитель»)
        for item, r in zip(items, rows, strict=True):
            item["assignee"] = (
                {"id": r["assignee_id"], "name": r["assignee_name"]} if r["assignee_id"] else None
            )
    return {"items": items, "total": int(total or 0), "limit": limit, "offset": offset}


def no_invoice() -> NotFound:
    return NotFound("no_invoice", "Счёт по заявке ещё не выставлен: он появится вместе с договором и ТУ.")


async def invoice_of(state: ApplicationsState, application_id: str, principal: Principal) -> Invoice:
    """The invoice of the latest offer, for the applicant and staff (404 for anyone else, and
    ``no_invoice`` before an offer): the offer's amount, the applicant's name as the payer,
    issued on the offer's local date, due on the payment deadline."""
    row = await state.store.fetchrow(
        "SELECT application_id, applicant_id, applicant_name, number, type_code, power_kw, status"
        " FROM applications_rows WHERE application_id = $1",
        application_id,
    )
    if row is None or (not principal.has(STAFF) and row["applicant_id"] != principal.account_id):
        raise not_found()
    amount = await state.store.fetchval(
        "SELECT amount_kopecks FROM applications_offers WHERE application_id = $1", application_id
    )
    facts = await process_facts(state.store, application_id)
    tz = state.app.settings.time_zone
    placed = latest(dated(facts["milestones"], tz), "offer_placed")
    if amount is None or placed is None:
        raise no_invoice()
    kind = state.app.types.get(row["type_code"], {})
    issued = local_day(placed, tz)
    due = invoice_due(row, kind, facts, calendar=state.app.calendar, tz=tz) or issued
    return Invoice(row["number"], row["applicant_name"], int(amount), issued, max(due, issued))
