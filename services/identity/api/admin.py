"""Staff and admin views of accounts: the directory and an account's history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.identity.api.deps import AdminAccount, StaffAccount, State
from services.identity.api.schemas import DirectoryPage, DirectoryRow, HistoryItem
from shared.http import MAX_OFFSET, IdPath, answers
from shared.readstore import Row
from shared.runtime import blocking

router = APIRouter(prefix="/api/v1")


def _directory_row(row: Row) -> DirectoryRow:
    return DirectoryRow(
        **{
            k: row[k]
            for k in ("account_id", "login", "email", "account_type", "display_name", "registered_at")
        },
        roles=[r for r in str(row["roles"]).split(",") if r],
        email_confirmed=bool(row["email_confirmed"]),
        last_login_at=row["last_login_at"],
    )


@router.get("/admin/accounts", response_model=DirectoryPage, responses=answers(401, 403, 422))
async def list_accounts(
    state: State,
    _: StaffAccount,
    q: Annotated[str, Query(max_length=100)] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> DirectoryPage:
    """The account directory for staff: search by login, e-mail or name; paginated."""
    rows, total = await state.directory.search(q, limit, offset)
    return DirectoryPage(items=[_directory_row(r) for r in rows], total=total, limit=limit, offset=offset)


@router.get(
    "/admin/accounts/{account_id}/history",
    response_model=list[HistoryItem],
    responses=answers(401, 403, 404),
)
async def account_history(account_id: IdPath, state: State, _: AdminAccount) -> list[HistoryItem]:
    """Who did what to an account, when and from where (admins only)."""
    return [HistoryItem(**item) for item in await blocking(state.identity.audit_trail, account_id)]
