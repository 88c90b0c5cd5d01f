"""Reads of the catalog (``files.catalog``, projections.py): what a person may list and the
published forms. Commands never read here; routes do."""

from __future__ import annotations

from shared.readstore import ReadStore, Row

_VISIBLE = "WHERE owner_id = $1 OR file_id IN (SELECT file_id FROM files_parties WHERE account_id = $1)"


async def files_of(store: ReadStore, account_id: str, limit: int, offset: int) -> tuple[int, list[Row]]:
    """(how many, one page) of the account's files and the files shared with it, newest first."""
    total = await store.fetchval(f"SELECT COUNT(*) FROM files_files {_VISIBLE}", account_id)  # noqa: S608
    rows = await store.fetch(
        f"SELECT * FROM files_files {_VISIBLE} ORDER BY uploaded_at DESC, file_id LIMIT $2 OFFSET $3",  # noqa: S608
        account_id,
        limit,
        offset,
    )
    return int(total or 0), rows


async def form_files(store: ReadStore) -> set[str]:
    """The files that hold a version of a standard form (they are never deleted)."""
    return {r["file_id"] for r in await store.fetch("SELECT file_id FROM files_forms")}


async def holds_form(store: ReadStore, file_id: str) -> bool:
    return bool(await store.fetchval("SELECT COUNT(*) FROM files_forms WHERE file_id = $1", file_id))


async def others_with_bytes(store: ReadStore, sha256: str) -> int:
    """How many listed files have these bytes."""
    return int(await store.fetchval("SELECT COUNT(*) FROM files_files WHERE sha256 = $1", sha256) or 0)


async def form(store: ReadStore, form_id: str) -> Row | None:
    return await store.fetchrow("SELECT * FROM files_forms WHERE form_id = $1", form_id)


async def latest_forms(store: ReadStore) -> list[Row]:
    """The newest version of each form."""
    return await store.fetch(
        "SELECT * FROM files_forms f WHERE f.version = (SELECT MAX(g.version) FROM files_forms g"
        " WHERE g.code = f.code)"
    )


async def versions(store: ReadStore, code: str) -> list[Row]:
    return await store.fetch("SELECT * FROM files_forms WHERE code = $1", code)
