"""The applications' main view (applications.events, identity.events): the consumer's tab
«Заявки на услуги», the application page (timeline, contact) and the staff queue, with the
applicant's current name («Фамилия Имя» from their profile).

The name follows the profile in this projection's own transaction (decision 14): a
submission applied after the profile takes the name from ``applications_view_names``, a
profile applied after the submission renames the rows, so any interleaving of the two topics
ends with the same rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby
from operator import itemgetter
from typing import Any

import structlog

from shared.consumer import Projection
from shared.events import (
    ApplicationSubmittedV1,
    DocumentsAddedV1,
    Envelope,
    ProfileUpdatedV1,
    StatusChangedV1,
)
from shared.process_events import (
    ApplicationAssignedV1,
    CompanyDocumentPlacedV1,
    ConnectionRecordedV1,
    ContractConcludedV1,
    DeadlineOverdueV1,
    DeadlineRemindedV1,
    NoticeReceivedV1,
    OfferPlacedV1,
    OfferRefusedV1,
    PaymentRecordedV1,
    SignatureCodeFailedV1,
    SignatureCodeIssuedV1,
    TerminationDecidedV1,
    TerminationRequestedV1,
)
from shared.readstore import Tx
from shared.schemas import MIGRATION_LOCK

log = structlog.get_logger(__name__)

PROCESS_FACTS = (
    OfferPlacedV1
    | PaymentRecordedV1
    | OfferRefusedV1
    | ContractConcludedV1
    | NoticeReceivedV1
    | ConnectionRecordedV1
    | CompanyDocumentPlacedV1
    | SignatureCodeIssuedV1  # the signature's challenges change the version too
    | SignatureCodeFailedV1
    | TerminationRequestedV1  # and the termination's request and decision
    | TerminationDecidedV1
)

VIEW_DDL = (
    "CREATE TABLE IF NOT EXISTS applications_rows (application_id TEXT PRIMARY KEY, number TEXT NOT NULL,"
    " applicant_id TEXT NOT NULL, applicant_name TEXT NOT NULL, applicant_email TEXT NOT NULL,"
    " type_code TEXT NOT NULL, type_title TEXT NOT NULL, power_kw DOUBLE PRECISION NOT NULL,"
    " object_address TEXT NOT NULL, status TEXT NOT NULL, status_since TEXT NOT NULL, due TEXT,"
    " submitted_at TEXT NOT NULL, updated_at TEXT NOT NULL, version INTEGER NOT NULL, search TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS applications_rows_applicant ON applications_rows (applicant_id, submitted_at)",
    "CREATE INDEX IF NOT EXISTS applications_rows_status ON applications_rows (status, due)",
    # The staff queue's order (queries.QUEUE_ORDER), alone and after a status: a page is read
    # off the index instead of sorting every row (100 000 rows: 56 → 2 ms on PostgreSQL).
    "CREATE INDEX IF NOT EXISTS applications_rows_queue ON applications_rows"
    " ((CASE WHEN status IN ('completed', 'annulled') OR due IS NULL THEN 1 ELSE 0 END), due, submitted_at)",
    "CREATE INDEX IF NOT EXISTS applications_rows_queue_status ON applications_rows (status,"
    " (CASE WHEN status IN ('completed', 'annulled') OR due IS NULL THEN 1 ELSE 0 END), due, submitted_at)",
    "CREATE TABLE IF NOT EXISTS applications_timeline (application_id TEXT NOT NULL, version INTEGER NOT NULL,"
    " from_status TEXT, to_status TEXT NOT NULL, actor_id TEXT NOT NULL, actor_role TEXT NOT NULL,"
    " actor_name TEXT NOT NULL, comment TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (application_id, version))",
    # The applicant's name as the queue shows it, per account (follows ProfileUpdated).
    "CREATE TABLE IF NOT EXISTS applications_view_names (account_id TEXT PRIMARY KEY, name TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS applications_contacts (application_id TEXT PRIMARY KEY, phone TEXT NOT NULL,"
    " email TEXT NOT NULL, comment TEXT NOT NULL)",
    # Who holds each application («Взять в работу»): a table of its own, so that stores made
    # before it get it by the same idempotent DDL (no column to add to applications_rows).
    "CREATE TABLE IF NOT EXISTS applications_assignees (application_id TEXT PRIMARY KEY,"
    " assignee_id TEXT NOT NULL, assignee_name TEXT NOT NULL, assigned_at TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS applications_assignees_of ON applications_assignees (assignee_id)",
)

# The staff queue's text search (queries.py: ``search LIKE '%…%'``) off a trigram index on
# PostgreSQL, from pg_trgm (Debian's postgresql-NN ships it; a trusted extension, so the
# database's owner may create it). Without it the search scans, and a warning says why.
# SQLite keeps its scan (docs/scale.md). ``{trgm}``: the schema the extension is in.
POSTGRES_DDL = (
    "CREATE INDEX IF NOT EXISTS applications_rows_search ON applications_rows"
    " USING gin (search {trgm}.gin_trgm_ops)",
)


async def index_search(tx: Tx) -> bool:
    """Create :data:`POSTGRES_DDL` (and the extension first, if it is missing); False where
    there is no index to create: SQLite, or a server that cannot have pg_trgm."""
    if not tx.postgres:
        return False
    await tx.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)  # replicas start together
    failed = await tx.attempt("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema = await tx.fetchval(
        "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'"
    )
    if schema is None:
        log.warning("applications.search_not_indexed", reason=str(failed), fallback="scan")
        return False
    for statement in POSTGRES_DDL:
        await tx.execute(statement.format(trgm=schema))
    return True


def search_text(*parts: str) -> str:
    """Case-folded in Python: SQLite's lower() knows only ASCII."""
    return " ".join(parts).casefold()


def queue_name(payload: ProfileUpdatedV1) -> str:
    """«Фамилия Имя», as staff file people; the display name (the login) before a profile."""
    return f"{payload.last_name} {payload.first_name}".strip() or payload.display_name


Write = tuple[str, tuple[Any, ...]]
"""One statement and its arguments."""

_INSERT_ROW = (
    "INSERT INTO applications_rows (application_id, number, applicant_id, applicant_name,"
    " applicant_email, type_code, type_title, power_kw, object_address, status, status_since, due,"
    " submitted_at, updated_at, version, search) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,"
    " 'submitted', $10, $11, $10, $10, $12, $13) ON CONFLICT (application_id) DO NOTHING"
)
_INSERT_CONTACT = (
    "INSERT INTO applications_contacts (application_id, phone, email, comment) VALUES ($1, $2, $3, $4)"
    " ON CONFLICT (application_id) DO NOTHING"
)
_TIMELINE = (
    "INSERT INTO applications_timeline (application_id, version, from_status, to_status, actor_id,"
    " actor_role, actor_name, comment, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    " ON CONFLICT (application_id, version) DO NOTHING"
)
_STATUS = (
    "UPDATE applications_rows SET status = $2, status_since = $3, due = $4, updated_at = $3,"
    " version = $5 WHERE application_id = $1"
)
_FACT = "UPDATE applications_rows SET updated_at = $2, version = $3 WHERE application_id = $1"
_VERSION = "UPDATE applications_rows SET version = $2 WHERE application_id = $1"
# A run's statements in this order (the updates after, in the events' order): a row is
# inserted before anything updates it, and the inserts depend on nothing else in the run.
_FIRST = {_INSERT_ROW: 0, _INSERT_CONTACT: 1, _TIMELINE: 2}
NAMES_AT_ONCE = 500


class ApplicationsView(Projection):
    name = "applications.view"
    ddl = VIEW_DDL
    postgres_ddl = POSTGRES_DDL  # made by load(): the rebuild's shadow names its index too

    async def load(self, tx: Tx) -> None:
        await index_search(tx)

    async def handle(self, tx: Tx, event: Envelope) -> None:
        await self.handle_many(tx, [event])

    async def handle_many(self, tx: Tx, events: Sequence[Envelope]) -> None:
        """Runs of submissions, status changes and facts (nearly all of a rebuild) go as a few
        ``executemany``, the applicants' names in one query; anything else (a profile, an
        assignment) ends the run and is applied on its own, in order."""
        submitted: list[tuple[Envelope, ApplicationSubmittedV1]] = []
        later: list[Write] = []
        for event in events:
            payload = event.parse()
            if isinstance(payload, ApplicationSubmittedV1):
                submitted.append((event, payload))
                continue
            plain = _plain(event, payload)
            if plain is not None:
                later.extend(plain)
                continue
            await _flush(tx, submitted, later)
            submitted, later = [], []
            await _other(tx, event, payload)
        await _flush(tx, submitted, later)


def _plain(event: Envelope, payload: object) -> list[Write] | None:
    """The statements of an event that only touches its own application's rows (None for
    one that does more)."""
    if isinstance(payload, StatusChangedV1):
        at = event.time.isoformat()
        actor = (payload.actor_id, payload.actor_role, payload.actor_name)
        return [
            (_STATUS, (payload.application_id, payload.to_status, at, payload.due, event.sequence)),
            _timeline(event, payload.from_status, payload.to_status, actor, payload.comment),
        ]
    if isinstance(payload, DocumentsAddedV1 | PROCESS_FACTS):
        # Any fact changes the application: its row follows the version (the version a
        # status change's ``expected_version`` is compared with).
        return [(_FACT, (payload.application_id, event.time.isoformat(), event.sequence))]
    if isinstance(payload, DeadlineRemindedV1 | DeadlineOverdueV1):
        # The deadline watcher's notices change only the version (a page's expected_version).
        return [(_VERSION, (payload.application_id, event.sequence))]
    return None


async def _other(tx: Tx, event: Envelope, payload: object) -> None:
    if isinstance(payload, ApplicationAssignedV1):
        await tx.execute(_FACT, payload.application_id, event.time.isoformat(), event.sequence)
        await _assigned(tx, event, payload)
    elif isinstance(payload, ProfileUpdatedV1):
        await _renamed(tx, payload.account_id, queue_name(payload))
        await tx.execute(  # a staff member's new name in the queue's «Исполнитель»
            "UPDATE applications_assignees SET assignee_name = $2 WHERE assignee_id = $1",
            payload.account_id,
            payload.display_name,
        )


async def _flush(
    tx: Tx, submitted: list[tuple[Envelope, ApplicationSubmittedV1]], later: list[Write]
) -> None:
    writes: list[Write] = []
    if submitted:
        # A profile applied before the application (the topics interleave) names it already;
        # one applied at the same time by another replica waits (or is waited for): _renamed.
        applicants = sorted({p.applicant_id for _, p in submitted})
        await tx.lock(_name_lock(a) for a in applicants)
        names = await _names(tx, applicants)
        for event, payload in submitted:
            writes.extend(
                _submission(event, payload, names.get(payload.applicant_id) or payload.applicant_name)
            )
    writes.extend(later)
    writes.sort(key=lambda write: _FIRST.get(write[0], len(_FIRST)))  # stable: updates keep their order
    for sql, group in groupby(writes, key=itemgetter(0)):
        await tx.executemany(sql, [args for _, args in group])


async def _names(tx: Tx, account_ids: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for i in range(0, len(account_ids), NAMES_AT_ONCE):
        chunk = account_ids[i : i + NAMES_AT_ONCE]
        marks = ", ".join(f"${n}" for n in range(1, len(chunk) + 1))
        rows = await tx.fetch(
            f"SELECT account_id, name FROM applications_view_names WHERE account_id IN ({marks})",  # noqa: S608
            *chunk,
        )
        found.update({str(r["account_id"]): str(r["name"]) for r in rows})
    return found


def _submission(event: Envelope, payload: ApplicationSubmittedV1, name: str) -> list[Write]:
    at = event.time.isoformat()
    row = (
        payload.application_id,
        payload.number,
        payload.applicant_id,
        name,
        payload.applicant_email,
        payload.type_code,
        payload.type_title,
        payload.power_kw,
        payload.object_address,
        at,
        payload.due,
        event.sequence,
        search_text(payload.number, name, payload.object_address),
    )
    contact = (payload.application_id, payload.contact_phone, payload.contact_email, payload.comment)
    actor = (payload.applicant_id, "consumer", payload.applicant_name)
    return [(_INSERT_ROW, row), (_INSERT_CONTACT, contact), _timeline(event, None, "submitted", actor, "")]


async def _assigned(tx: Tx, event: Envelope, payload: ApplicationAssignedV1) -> None:
    await tx.execute(
        "INSERT INTO applications_assignees (application_id, assignee_id, assignee_name, assigned_at)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (application_id) DO UPDATE SET"
        " assignee_id = excluded.assignee_id, assignee_name = excluded.assignee_name,"
        " assigned_at = excluded.assigned_at",
        payload.application_id,
        payload.assignee_id,
        payload.assignee_name,
        event.time.isoformat(),
    )


def _name_lock(account_id: str) -> str:
    return f"applications.view:name:{account_id}"


async def _renamed(tx: Tx, account_id: str, name: str) -> None:
    # The account's applications are read after the lock: one submitted meanwhile by the
    # replica that applies the applications' partition is either seen here or sees the name.
    await tx.lock([_name_lock(account_id)])
    await tx.execute(
        "INSERT INTO applications_view_names (account_id, name) VALUES ($1, $2)"
        " ON CONFLICT (account_id) DO UPDATE SET name = excluded.name",
        account_id,
        name,
    )
    rows = await tx.fetch(
        "SELECT application_id, number, object_address FROM applications_rows WHERE applicant_id = $1",
        account_id,
    )
    await tx.executemany(
        "UPDATE applications_rows SET applicant_name = $2, search = $3 WHERE application_id = $1",
        [(r["application_id"], name, search_text(r["number"], name, r["object_address"])) for r in rows],
    )


def _timeline(
    event: Envelope, from_status: str | None, to_status: str, actor: tuple[str, str, str], comment: str
) -> Write:
    """One entry of the history; ``actor``: (id, role, name)."""
    return (
        _TIMELINE,
        (event.subject, event.sequence, from_status, to_status, *actor, comment, event.time.isoformat()),
    )
