"""Each service owns a PostgreSQL schema of its own: ``lk_<service>``.

Its event store (eventsourcing's ``POSTGRES_SCHEMA``) and its read store (asyncpg's
``search_path``) live there, so the tables every service creates under the same name (the
relay's position, the consumers' offsets) are one per service, and a service sees no other
service's rows. On SQLite each service already has files of its own; nothing here applies.

Upgrading a database of before the schemas: everything was in ``public``. The first start of
a service after the upgrade moves what is its own into its schema, once, in one transaction
(serialised with every other service's migration by the advisory lock the read stores'
migrations take):

- a table of the service's own name (``<service>_…``: its event store ``<service>_events``,
  its read models) is moved with ``ALTER TABLE … SET SCHEMA`` (its indexes and sequences go
  with it), unless the schema already has one of that name;
- a table all services shared (``lk_relay_positions``, ``lk_consumer_*``, ``lk_dead_letters``)
  is copied into the schema (same columns, keys and identity) with only the service's rows (a relay is named after its
  service, a consumer ``<service>.<projection>``), which are then deleted from ``public``;
  once the last service has taken its rows, the empty table in ``public`` is dropped.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

MIGRATION_LOCK = 4242  # the read stores' migrations' advisory lock (shared/readstore.py)
CONNECT_TIMEOUT = 10
# Tables every service used to write in public, and the column that says whose a row is.
SHARED_TABLES = {
    "lk_relay_positions": "name",
    "lk_consumer_offsets": "consumer",
    "lk_consumer_applied": "consumer",
    "lk_consumer_seen": "consumer",
    "lk_dead_letters": "consumer",
}


def schema_of(service: str) -> str:
    """The PostgreSQL schema of ``service``."""
    if not service.isidentifier() or not service.islower():
        raise ValueError(f"not a service name: {service!r}")
    return f"lk_{service}"


def _public_tables(cur: psycopg.Cursor[Any], schema: str) -> tuple[set[str], set[str]]:
    cur.execute("SELECT schemaname, tablename FROM pg_tables WHERE schemaname IN ('public', %s)", (schema,))
    rows = cur.fetchall()
    return {t for s, t in rows if s == "public"}, {t for s, t in rows if s == schema}


def prepare(dsn: str, service: str) -> list[str]:
    """Create ``service``'s schema if missing and move into it what is the service's in
    ``public`` (module docstring); idempotent. Returns what was moved, for the log."""
    schema = schema_of(service)
    moved: list[str] = []
    with (
        psycopg.connect(dsn, connect_timeout=CONNECT_TIMEOUT) as conn,
        conn.transaction(),
        conn.cursor() as cur,
    ):
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        public, own = _public_tables(cur, schema)
        for table in sorted(public - own):
            if table.startswith(f"{service}_"):
                cur.execute(
                    sql.SQL("ALTER TABLE public.{} SET SCHEMA {}").format(
                        sql.Identifier(table), sql.Identifier(schema)
                    )
                )
                moved.append(table)
        for table, owner in SHARED_TABLES.items():
            if table in public:
                moved += _take_rows(cur, schema, table, owner, service)
    return moved


def _take_rows(cur: psycopg.Cursor[Any], schema: str, table: str, owner: str, service: str) -> list[str]:
    old, new, column = sql.Identifier("public", table), sql.Identifier(schema, table), sql.Identifier(owner)
    mine = sql.SQL("{} = %s OR {} LIKE %s").format(column, column)
    args = (service, f"{service}.%")
    cur.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (LIKE {} INCLUDING ALL)").format(new, old))
    cur.execute(
        sql.SQL("INSERT INTO {} SELECT * FROM {} WHERE {} ON CONFLICT DO NOTHING").format(new, old, mine),
        args,
    )
    taken = cur.rowcount
    # An identity column (the dead letters' id) goes on after the ids copied, not from 1.
    cur.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attidentity <> ''",
        (f"{schema}.{table}",),
    )
    for (name,) in cur.fetchall():
        cur.execute(
            sql.SQL(
                "SELECT setval(pg_get_serial_sequence(%s, %s), COALESCE(MAX({}), 0) + 1, false) FROM {}"
            ).format(sql.Identifier(name), new),
            (f"{schema}.{table}", name),
        )
    cur.execute(sql.SQL("DELETE FROM {} WHERE {}").format(old, mine), args)
    cur.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(old))
    row = cur.fetchone()
    if row is not None and not row[0]:
        cur.execute(sql.SQL("DROP TABLE {}").format(old))
    return [f"{table} ({taken} rows)"] if taken else []
