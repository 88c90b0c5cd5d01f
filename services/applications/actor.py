"""Who acts on an application: the account, its side (consumer or staff), and the name and
e-mail the events record."""

from __future__ import annotations

from dataclasses import dataclass

from services.applications.workflow import CONSUMER, STAFF
from shared.auth import Principal


@dataclass(frozen=True)
class Actor:
    account_id: str
    role: str  # consumer | staff
    name: str
    email: str = ""

    @property
    def staff(self) -> bool:
        return self.role == STAFF


def role_of(principal: Principal) -> str:
    """The caller's side: staff, or the consumer everyone else acts as."""
    return STAFF if principal.has(STAFF) else CONSUMER
