"""Identity's read model: the account directory (for staff and admin views, audits), its
projection of ``identity.events`` and its query."""

from __future__ import annotations

from collections.abc import Sequence

from shared.consumer import Projection
from shared.events import (
    AccountRegisteredV1,
    EmailConfirmedV1,
    Envelope,
    ProfileUpdatedV1,
    SessionStartedV1,
)
from shared.readstore import ReadStore, Row, Tx

_INSERT_ACCOUNT = (
    "INSERT INTO identity_accounts (account_id, login, email, account_type, roles, display_name,"
    " registered_at) VALUES ($1, $2, $3, $4, $5, $2, $6) ON CONFLICT (account_id) DO NOTHING"
)


def _account_row(payload: AccountRegisteredV1, event: Envelope) -> tuple[str, ...]:
    return (
        payload.account_id,
        payload.login,
        payload.email,
        payload.account_type,
        ",".join(payload.roles),
        event.time.isoformat(),
    )


class AccountDirectory(Projection):
    """One row per account: who registered when, confirmed or not, name, last login."""

    name = "identity.directory"
    ddl = (
        "CREATE TABLE IF NOT EXISTS identity_accounts (account_id TEXT PRIMARY KEY,"
        " login TEXT NOT NULL, email TEXT NOT NULL, account_type TEXT NOT NULL,"
        " roles TEXT NOT NULL DEFAULT '', display_name TEXT NOT NULL DEFAULT '',"
        " email_confirmed BOOLEAN NOT NULL DEFAULT FALSE, registered_at TEXT NOT NULL,"
        " confirmed_at TEXT, last_login_at TEXT, logins INTEGER NOT NULL DEFAULT 0)",
    )

    async def handle_many(self, tx: Tx, events: Sequence[Envelope]) -> None:
        """Runs of registrations (most of a rebuild) go as one executemany each."""
        rows: list[tuple[str, ...]] = []
        for event in events:
            payload = event.parse()
            if isinstance(payload, AccountRegisteredV1):
                rows.append(_account_row(payload, event))
                continue
            await tx.executemany(_INSERT_ACCOUNT, rows)
            rows = []
            await self.handle(tx, event)
        await tx.executemany(_INSERT_ACCOUNT, rows)

    async def handle(self, tx: Tx, event: Envelope) -> None:
        payload = event.parse()
        at = event.time.isoformat()
        if isinstance(payload, AccountRegisteredV1):
            await tx.execute(_INSERT_ACCOUNT, *_account_row(payload, event))
        elif isinstance(payload, EmailConfirmedV1):
            await tx.execute(
                "UPDATE identity_accounts SET email_confirmed = TRUE, confirmed_at = $2"
                " WHERE account_id = $1",
                payload.account_id,
                at,
            )
        elif isinstance(payload, SessionStartedV1):
            await tx.execute(
                "UPDATE identity_accounts SET last_login_at = $2, logins = logins + 1 WHERE account_id = $1",
                payload.account_id,
                at,
            )
        elif isinstance(payload, ProfileUpdatedV1):
            await tx.execute(
                "UPDATE identity_accounts SET display_name = $2 WHERE account_id = $1",
                payload.account_id,
                payload.display_name,
            )


class Directory:
    """The account directory's rows, for staff: found by login, e-mail or name, newest first."""

    _WHERE = "WHERE lower(login) LIKE $1 OR lower(email) LIKE $1 OR lower(display_name) LIKE $1"

    def __init__(self, store: ReadStore) -> None:
        self.store = store

    async def search(self, q: str, limit: int, offset: int) -> tuple[list[Row], int]:
        """A page of the accounts matching ``q`` (any part, any case), and how many match."""
        pattern = f"%{q.casefold()}%"
        total = await self.store.fetchval(f"SELECT COUNT(*) FROM identity_accounts {self._WHERE}", pattern)  # noqa: S608
        rows = await self.store.fetch(
            f"SELECT * FROM identity_accounts {self._WHERE} ORDER BY registered_at DESC LIMIT $2 OFFSET $3",  # noqa: S608
            pattern,
            limit,
            offset,
        )
        return rows, int(total or 0)
