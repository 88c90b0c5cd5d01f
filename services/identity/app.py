"""Identity's command side: one eventsourcing Application per process, made of the use cases
(``use_cases/``). Every rule is checked before an event is triggered — by the Account
aggregate where it concerns the account's own state: events are facts."""

from __future__ import annotations

from typing import ClassVar

from services.identity.domain import Account
from services.identity.use_cases.confirmation import Confirmation
from services.identity.use_cases.passwords import Passwords
from services.identity.use_cases.profile import Profile
from services.identity.use_cases.registration import Registration
from services.identity.use_cases.sessions import Sessions
from shared.settings import Settings


class IdentityApp(Registration, Confirmation, Sessions, Passwords, Profile):
    """Registration, confirmation, sessions, passwords, profile and history of accounts."""

    name = "identity"  # the event store's name (the library would take the class name)
    snapshotting_intervals = {Account: 50}  # noqa: RUF012 - the library's class attribute
    # One process (the embedded default, one replica) is the only writer of its event store,
    # and every save puts the aggregate in the cache: a cached read needs no "anything newer?"
    # query. With replicas another process may have extended an account since this one cached
    # it (confirmed its address: a login here was refused with email_not_confirmed), so a
    # cached account is brought up to date (one query) before anything is decided on it.
    store_env: ClassVar[dict[str, str]] = {
        "AGGREGATE_CACHE_MAXSIZE": "2000",
        "AGGREGATE_CACHE_FASTFORWARD": "n",
    }

    def __init__(self, settings: Settings, env: dict[str, str] | None = None) -> None:
        shared = {"AGGREGATE_CACHE_FASTFORWARD": "y"} if settings.replicas_of(self.name) > 1 else {}
        super().__init__(settings, {**shared, **(env or {})})
