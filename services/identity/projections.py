"""Identity's read model: the account directory (for staff and admin views, audits)."""

from __future__ import annotations

from shared.consumer import Projection
from shared.events import (
    AccountRegisteredV1,
    EmailConfirmedV1,
    Envelope,
    ProfileUpdatedV1,
    SessionStartedV1,
)
from shared.readstore import Tx


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

    def __init__(self, topic: str) -> None:
        self.topics = (topic,)

    async def handle(self, tx: Tx, event: Envelope) -> None:
        payload = event.parse()
        at = event.time.isoformat()
        if isinstance(payload, AccountRegisteredV1):
            await tx.execute(
                "INSERT INTO identity_accounts (account_id, login, email, account_type, roles, display_name,"
                " registered_at) VALUES ($1, $2, $3, $4, $5, $2, $6) ON CONFLICT (account_id) DO NOTHING",
                payload.account_id,
                payload.login,
                payload.email,
                payload.account_type,
                ",".join(payload.roles),
                at,
            )
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
