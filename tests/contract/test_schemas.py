"""Each service in its own PostgreSQL schema (shared/schemas.py): its event store and read
store there, the tables of the same name one per service, and a database of before the
schemas moved over on first start. Real PostgreSQL."""

from __future__ import annotations

import uuid

import psycopg

from services.identity.app import IdentityApp
from services.identity.domain import Account
from shared.readstore import PostgresReadStore
from shared.settings import Settings

SECRET = "x" * 32


def tables(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT schemaname || '.' || tablename FROM pg_tables WHERE schemaname LIKE 'lk\\_%' OR schemaname = 'public'"
        ).fetchall()
    return {r[0] for r in rows}


def register(app: IdentityApp) -> uuid.UUID:
    login = f"u{uuid.uuid4().hex[:10]}"
    account = app.register(
        login=login, email=f"{login}@example.ru", password="Корова-на-луне-2026!", account_type="consumer"
    )
    return account.id


async def test_services_keep_same_named_tables_apart(dsn: str) -> None:
    stores = [PostgresReadStore(dsn, service=s) for s in ("identity", "notifier")]
    for store in stores:
        await store.open()
    try:
        for store in stores:
            await store.execute(
                "CREATE TABLE IF NOT EXISTS lk_relay_positions (name TEXT PRIMARY KEY, position BIGINT)"
            )
            await store.execute("INSERT INTO lk_relay_positions VALUES ($1, 1)", store.service)
        for store in stores:
            assert await store.fetch("SELECT name FROM lk_relay_positions") == [{"name": store.service}]
    finally:
        for store in stores:
            await store.close()
    assert {"lk_identity.lk_relay_positions", "lk_notifier.lk_relay_positions"} <= tables(dsn)
    assert not any(t.startswith("public.") for t in tables(dsn))


async def test_the_event_store_is_in_the_services_schema(dsn: str) -> None:
    app = IdentityApp(Settings(mode="stack", secret_key=SECRET, postgres_dsn=dsn))
    try:
        account = register(app)
    finally:
        app.close()
    assert "lk_identity.identity_events" in tables(dsn)
    assert not any(t.startswith("public.") for t in tables(dsn))
    with psycopg.connect(dsn) as conn:
        found = conn.execute(
            "SELECT COUNT(*) FROM lk_identity.identity_events WHERE originator_id = %s", (account,)
        )
        assert found.fetchone() == (1,)


async def test_a_database_of_before_the_schemas_is_moved_over_once(dsn: str) -> None:
    # What a service wrote before: its event store and its tables in public, and the tables
    # every service shared, with rows of two services.
    old = IdentityApp(
        Settings(mode="stack", secret_key=SECRET, postgres_dsn=dsn), env={"POSTGRES_SCHEMA": "public"}
    )
    try:
        account = register(old)
    finally:
        old.close()
    with psycopg.connect(dsn) as conn:
        conn.execute("DROP SCHEMA lk_identity")  # as if never made (the old code made none)
        conn.execute("CREATE TABLE public.identity_accounts (account_id TEXT PRIMARY KEY)")
        conn.execute("INSERT INTO public.identity_accounts VALUES (%s)", (str(account),))
        conn.execute(
            "CREATE TABLE public.lk_relay_positions (name TEXT PRIMARY KEY, position BIGINT NOT NULL)"
        )
        conn.execute("INSERT INTO public.lk_relay_positions VALUES ('identity', 7), ('applications', 9)")
        conn.execute(
            "CREATE TABLE public.lk_consumer_offsets (consumer TEXT NOT NULL, topic TEXT NOT NULL,"
            " part INTEGER NOT NULL, next_offset BIGINT NOT NULL, PRIMARY KEY (consumer, topic, part))"
        )
        conn.execute(
            "INSERT INTO public.lk_consumer_offsets VALUES ('identity.directory', 'identity.events', 0, 3),"
            " ('applications.view', 'applications.events', 0, 5), ('identityx.other', 't', 0, 1)"
        )

    new = IdentityApp(Settings(mode="stack", secret_key=SECRET, postgres_dsn=dsn))
    try:
        assert new.find(account, Account) is not None  # its events came with it
    finally:
        new.close()
    store = PostgresReadStore(dsn, service="identity")
    await store.open()
    try:
        assert await store.fetch("SELECT * FROM lk_relay_positions") == [{"name": "identity", "position": 7}]
        assert await store.fetchval("SELECT next_offset FROM lk_consumer_offsets") == 3
        assert await store.fetchval("SELECT account_id FROM identity_accounts") == str(account)
    finally:
        await store.close()
    found = tables(dsn)
    assert {"lk_identity.identity_events", "lk_identity.identity_accounts"} <= found
    assert "public.identity_events" not in found
    # Another service's rows stay in public until that service starts, then public is empty.
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT name FROM public.lk_relay_positions").fetchall() == [("applications",)]
    other = PostgresReadStore(dsn, service="applications")
    await other.open()
    try:
        assert await other.fetch("SELECT * FROM lk_relay_positions") == [
            {"name": "applications", "position": 9}
        ]
    finally:
        await other.close()
    assert "public.lk_relay_positions" not in tables(dsn)
    # A consumer of no known service (a name only starting like one) is not taken.
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT consumer FROM public.lk_consumer_offsets").fetchall() == [
            ("identityx.other",)
        ]
    # A second start moves nothing more.
    again = PostgresReadStore(dsn, service="identity")
    await again.open()
    try:
        assert await again.fetchval("SELECT COUNT(*) FROM lk_relay_positions") == 1
    finally:
        await again.close()
