"""The person's names, and what identity's event store says happened to an account."""

from __future__ import annotations

import uuid
from typing import TypedDict

from eventsourcing.domain import DomainEvent

from services.identity.applicant import Details
from services.identity.domain import Account
from services.identity.use_cases.base import IdentityBase
from services.identity.values import Audit, by
from shared.errors import NotFound


class HistoryEntry(TypedDict):
    version: int
    type: str
    at: str
    actor: str
    ip: str
    user_agent: str


def _entry(event: DomainEvent) -> HistoryEntry:
    audit: Audit = getattr(event, "audit", None) or {}
    return {
        "version": event.originator_version,
        "type": type(event).__name__,
        "at": event.timestamp.isoformat(),
        "actor": audit.get("actor", ""),
        "ip": audit.get("ip", ""),
        "user_agent": audit.get("user_agent", ""),
    }


class Profile(IdentityBase):
    def update_profile(
        self,
        account: Account,
        first_name: str | None,
        last_name: str | None,
        audit: Audit | None = None,
        details: Details | None = None,
    ) -> Account:
        """Фамилия и Имя (None keeps the current one); once set, «Имя Фамилия» is shown instead
        of the login. ``details``: the applicant's kind and requisites given, over the stored
        ones (:func:`services.identity.applicant.checked`; None for a field clears it)."""
        first = account.first_name if first_name is None else first_name
        last = account.last_name if last_name is None else last_name
        if account.update_profile(first, last, by(str(account.id), audit), details):
            self.commit(account)
        return account

    def history(self, account_id: uuid.UUID) -> list[HistoryEntry]:
        """Every event of an account, oldest first, with who and from where."""
        events = self.repository.event_store.get(account_id)
        # Every stored event is a DomainEvent (the store's protocol type does not say so).
        return [_entry(e) for e in events if isinstance(e, DomainEvent) and type(e).__name__ != "Snapshot"]

    def audit_trail(self, account_id: str) -> list[HistoryEntry]:
        """:meth:`history` of the account named by an id from outside; NotFound if none."""
        try:
            key = uuid.UUID(account_id)
        except ValueError:
            key = None
        found = self.history(key) if key else []
        if not found:
            raise NotFound("not_found", "Учётная запись не найдена.")
        return found
