"""The staff queue's text search (services/applications/queries.py) on each read store: the
same matches on both, off the trigram index on PostgreSQL (the plan names it), and a plain
scan with a warning where the server cannot create pg_trgm."""

from __future__ import annotations

import json
import uuid
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from structlog.testing import capture_logs

from services.applications.projections.view import ApplicationsView
from services.applications.queries import Filters, _where
from shared.auth import Principal
from shared.events import ApplicationSubmittedV1, Envelope
from shared.readstore import PostgresReadStore, ReadStore
from tests.contract.conftest import POSTGRES

STAFF = Principal(account_id="staff-1", session_id="s", account_type="person", roles=("staff",))
STREETS = ("Садовая", "Лесная", "Заречная", "Полевая")
ROWS = 3000


def submitted(i: int) -> Envelope:
    application_id = str(uuid.uuid4())
    return ApplicationSubmittedV1(
        application_id=application_id,
        number=f"ТП-2026-{i:06d}",
        applicant_id=f"account-{i % 500}",
        applicant_email=f"p{i}@example.invalid",
        applicant_name=f"Петров-{i % 500} Иван",
        type_code="up_to_15kw",
        type_title="до 15 кВт",
        power_kw=15,
        object_address=f"г. Казань, ул. {STREETS[i % 4]}, д. {i}",
        documents=[],
    ).envelope(source="applications", subject=application_id, sequence=1, position=i + 1)


async def filled(store: ReadStore) -> ApplicationsView:
    view = ApplicationsView()
    await store.migrate(view.ddl)
    async with store.transaction() as tx:
        await view.load(tx)
        await view.handle_many(tx, [submitted(i) for i in range(ROWS)])
    if isinstance(store, PostgresReadStore):
        await store.execute("ANALYZE applications_rows")
    return view


async def found(store: ReadStore, q: str, status: str | None = None) -> list[str]:
    clause, args = _where(STAFF, Filters(q=q, status=status))
    rows = await store.fetch(f"SELECT number FROM applications_rows r {clause} ORDER BY number", *args)
    return [str(r["number"]) for r in rows]


@pytest.mark.parametrize(
    ("q", "status", "expected"),
    [
        ("001234", None, ["ТП-2026-001234"]),  # a number's tail
        ("тп-2026-00299", None, [f"ТП-2026-{i:06d}" for i in range(2990, 3000)]),  # case folded
        ("ПЕТРОВ-499 ", None, [f"ТП-2026-{i:06d}" for i in range(499, ROWS, 500)]),  # a name, trimmed
        ("садовая, д. 2000", None, ["ТП-2026-002000"]),  # an address
        ("садовая, д. 2000", "in_work", []),  # and a status
        ("нет такого", None, []),
    ],
)
async def test_the_search_finds_the_same_rows_on_each_store(
    store: ReadStore, q: str, status: str | None, expected: list[str]
) -> None:
    await filled(store)
    assert await found(store, q, status) == expected


async def _plan(store: ReadStore, q: str) -> str:
    """The plan of the queue's count, the planner told to avoid a scan where it can: a few
    thousand rows are read faster whole, a hundred thousand are not (docs/scale.md)."""
    clause, args = _where(STAFF, Filters(q=q))
    async with store.transaction() as tx:
        await tx.execute("SET LOCAL enable_seqscan = off")
        rows = await tx.fetch(
            f"EXPLAIN (FORMAT JSON) SELECT COUNT(*) FROM applications_rows r {clause}", *args
        )
    return json.dumps(rows[0])


async def test_postgres_searches_off_the_trigram_index(store: ReadStore) -> None:
    if not isinstance(store, PostgresReadStore):
        pytest.skip("SQLite keeps the scan (docs/scale.md)")
    await filled(store)
    plan = await _plan(store, "садовая, д. 2000")
    assert "applications_rows_search" in plan, plan
    assert "Seq Scan" not in plan, plan


async def test_without_pg_trgm_the_search_scans_and_says_so() -> None:
    """A database where the role may not create an extension (no CREATE on it)."""
    name = f"lk_contract_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
        dsn = urlunsplit(urlsplit(POSTGRES)._replace(path=f"/{name}"))
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'REVOKE CREATE ON DATABASE "{name}" FROM CURRENT_USER')
        store = PostgresReadStore(dsn)
        await store.open()
        try:
            with capture_logs() as logs:
                await filled(store)
            assert [e["event"] for e in logs if e["log_level"] == "warning"] == [
                "applications.search_not_indexed"
            ]
            assert "permission denied" in logs[0]["reason"]
            assert not await store.fetch(
                "SELECT 1 FROM pg_indexes WHERE indexname = 'applications_rows_search'"
            )
            assert "Seq Scan" in await _plan(store, "садовая, д. 2000")
            assert await found(store, "садовая, д. 2000") == ["ТП-2026-002000"]
        finally:
            await store.close()
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
