"""The open sessions every service keeps (a projection of ``identity.events``), by which
shared/auth.py accepts a token only while its session is open."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from shared.consumer import Projection
from shared.events import Envelope, SessionEndedV1, SessionStartedV1
from shared.readstore import Tx


@dataclass
class OpenSession:
    """A session open at identity, as a service saw it start."""

    account_id: str
    account_type: str
    roles: tuple[str, ...]
    expires_at: datetime


class SessionRegistry(Projection):
    """Open sessions, as seen from one service; kept in memory and in its read store. Every
    replica of the service consumes it (each checks tokens from its own memory); its rows are
    idempotent (insert or nothing, delete), so replicas writing them side by side agree."""

    every_replica = True

    def __init__(self, service: str, identity_topic: str) -> None:
        self.name = f"{service}.sessions"
        self.topics = (identity_topic,)
        self.table = f"{service}_sessions"
        self.ddl = (
            f"CREATE TABLE IF NOT EXISTS {self.table} (session_id TEXT PRIMARY KEY, account_id TEXT NOT NULL,"
            " account_type TEXT NOT NULL, roles TEXT NOT NULL, expires_at TEXT NOT NULL)",
        )
        self.sessions: dict[str, OpenSession] = {}

    async def load(self, tx: Tx) -> None:
        now = datetime.now(UTC)
        for row in await tx.fetch(f"SELECT * FROM {self.table}"):  # noqa: S608 - table name is ours
            expires_at = datetime.fromisoformat(row["expires_at"])
            if expires_at > now:
                self.sessions[row["session_id"]] = OpenSession(
                    row["account_id"], row["account_type"], tuple(row["roles"].split(",")), expires_at
                )

    async def handle(self, tx: Tx, event: Envelope) -> None:
        payload = event.parse()
        if isinstance(payload, SessionStartedV1):
            roles = ",".join(payload.roles)
            await tx.execute(
                f"INSERT INTO {self.table} (session_id, account_id, account_type, roles, expires_at)"  # noqa: S608
                " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (session_id) DO NOTHING",
                payload.session_id,
                payload.account_id,
                payload.account_type,
                roles,
                payload.expires_at.isoformat(),
            )
            self.sessions[payload.session_id] = OpenSession(
                payload.account_id, payload.account_type, tuple(payload.roles), payload.expires_at
            )
        elif isinstance(payload, SessionEndedV1):
            await tx.execute(f"DELETE FROM {self.table} WHERE session_id = $1", payload.session_id)  # noqa: S608
            self.sessions.pop(payload.session_id, None)
