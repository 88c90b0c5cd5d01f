"""Identity's write model: the Account aggregate and the e-mail uniqueness index.

An account's id is derived from its login, an EmailOwner's from the e-mail: both are created
in one atomic save, so two registrations with the same login or e-mail cannot both succeed.
Every event carries ``audit``: who did it (account id, "self", "cli") and from where (address,
user agent); the event store is the account's audit log. The event classes keep the names
stored events carry (``services.identity.domain:Account.Registered`` …)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from eventsourcing.domain import Aggregate, event

from services.identity import applicant
from services.identity.applicant import Details
from services.identity.passwords import check_policy, hash_password, verify_password
from services.identity.values import Audit, normalise_email, normalise_login
from shared.errors import Conflict, Forbidden, Invalid, Refused, Unauthenticated

_NS = uuid.UUID("0b7f4a52-55a6-4a0c-8c1e-3e6f6b7c9d21")


def bad_link() -> Refused:
    return Refused("invalid_token", "Ссылка недействительна или устарела. Запросите новую.")


def no_session() -> Unauthenticated:
    return Unauthenticated("not_authenticated", "Требуется вход в личный кабинет.")


def _now() -> datetime:
    return datetime.now(UTC)


class Account(Aggregate):
    """A person's account: credentials, e-mail confirmation, profile and open sessions."""

    class Registered(Aggregate.Created):
        login: str
        email: str
        password_hash: str
        account_type: str
        roles: list[str]
        confirmation_nonce: str | None
        confirmation_expires_at: datetime | None
        audit: Audit

    # The address is part of the facts below: the public event and its e-mail need it.
    class ConfirmationRequested(Aggregate.Event):
        nonce: str
        expires_at: datetime
        email: str
        audit: Audit

    class EmailConfirmed(Aggregate.Event):
        email: str
        audit: Audit

    # Type and roles ride along so every service's session registry knows them.
    class SessionStarted(Aggregate.Event):
        session_id: str
        expires_at: datetime
        account_type: str
        roles: list[str]
        audit: Audit

    class SessionEnded(Aggregate.Event):
        session_id: str
        reason: str
        audit: Audit

    class ProfileUpdated(Aggregate.Event):
        first_name: str
        last_name: str
        display_name: str
        audit: Audit
        middle_name: str = ""
        applicant_kind: str = ""
        phone: str = ""
        postal_address: str = ""
        passport: dict[str, str] | None = None
        inn: str = ""
        ogrnip: str = ""
        ogrn: str = ""
        organisation_name: str = ""
        kpp: str = ""

        def apply(self, aggregate: Account) -> None:
            aggregate.first_name, aggregate.last_name = self.first_name, self.last_name
            aggregate.applicant = {n: getattr(self, n) for n in applicant.DETAILS if getattr(self, n)}

    class PasswordResetRequested(Aggregate.Event):
        nonce: str
        expires_at: datetime
        email: str
        display_name: str
        audit: Audit

    class PasswordChanged(Aggregate.Event):
        password_hash: str
        by_reset: bool
        email: str
        display_name: str
        audit: Audit

    @staticmethod
    def create_id(login: str) -> uuid.UUID:
        return uuid.uuid5(_NS, "login:" + normalise_login(login))

    @event(Registered)
    def __init__(
        self,
        *,
        login: str,
        email: str,
        password_hash: str,
        account_type: str,
        roles: list[str],
        confirmation_nonce: str | None,
        confirmation_expires_at: datetime | None,
        audit: Audit,
    ) -> None:
        self.login = login
        self.email = email
        self.password_hash = password_hash
        self.account_type = account_type
        self.roles = list(roles)
        self.email_confirmed = False
        self.confirmation_nonce = confirmation_nonce
        self.confirmation_expires_at = confirmation_expires_at
        self.reset_nonce: str | None = None
        self.reset_expires_at: datetime | None = None
        self.first_name = ""
        self.last_name = ""
        self.applicant: Details = {}  # kind and requisites (services/identity/applicant.py)
        self.sessions: dict[str, datetime] = {}

    # what it is ---------------------------------------------------------------------------
    @property
    def display_name(self) -> str:
        return applicant.display_name(self.first_name, self.last_name, self.details) or self.login

    @property
    def details(self) -> Details:
        return dict(vars(self).get("applicant", {}))  # a snapshot from before them has none

    def has_session(self, session_id: str) -> bool:
        expires_at = self.sessions.get(session_id)
        return expires_at is not None and expires_at > _now()

    def check_session(self, session_id: str) -> None:
        """Unauthenticated unless the session is open (not ended, not expired)."""
        if not self.has_session(session_id):
            raise no_session()

    # the e-mail address -------------------------------------------------------------------
    def ask_confirmation(self, nonce: str, expires_at: datetime, audit: Audit) -> None:
        """A new confirmation link replaces the previous one."""
        self._confirmation_requested(nonce=nonce, expires_at=expires_at, email=self.email, audit=audit)

    def confirm_email(self, nonce: str, audit: Audit) -> None:
        """Confirm by the link's nonce: the latest link only, before it expires, once."""
        if self.email_confirmed:
            raise Conflict("already_confirmed", "Адрес e-mail уже подтверждён. Войдите в личный кабинет.")
        expires = self.confirmation_expires_at
        if nonce != self.confirmation_nonce or expires is None or expires <= _now():
            raise bad_link()
        self._email_confirmed(email=self.email, audit=audit)

    def trust_email(self, audit: Audit) -> None:
        """The address is vouched for by whoever creates the account (staff accounts)."""
        self._email_confirmed(email=self.email, audit=audit)

    @event(ConfirmationRequested)
    def _confirmation_requested(self, nonce: str, expires_at: datetime, email: str, audit: Audit) -> None:
        self.confirmation_nonce = nonce
        self.confirmation_expires_at = expires_at

    @event(EmailConfirmed)
    def _email_confirmed(self, email: str, audit: Audit) -> None:
        self.email_confirmed = True
        self.confirmation_nonce = None

    # sessions -----------------------------------------------------------------------------
    def start_session(self, session_id: str, expires_at: datetime, audit: Audit) -> None:
        """Open a session (the password was checked); sessions that expired meanwhile end."""
        if not self.email_confirmed:
            raise Forbidden(
                "email_not_confirmed",
                "Адрес e-mail не подтверждён. Перейдите по ссылке из письма или запросите новую.",
            )
        for stale in [sid for sid, until in self.sessions.items() if until <= _now()]:
            self.end_session(session_id=stale, reason="expired", audit=audit)
        self._session_started(
            session_id=session_id,
            expires_at=expires_at,
            account_type=self.account_type,
            roles=list(self.roles),
            audit=audit,
        )

    @event(SessionStarted)
    def _session_started(
        self, session_id: str, expires_at: datetime, account_type: str, roles: list[str], audit: Audit
    ) -> None:
        self.sessions[session_id] = expires_at

    @event(SessionEnded)
    def end_session(self, session_id: str, reason: str, audit: Audit) -> None:
        self.sessions.pop(session_id, None)

    def end_sessions(self, reason: str, audit: Audit, keep: str | None = None) -> None:
        """End every open session but ``keep``; one event each, so every service sees it."""
        for session_id in [sid for sid in self.sessions if sid != keep]:
            self.end_session(session_id=session_id, reason=reason, audit=audit)

    # profile ------------------------------------------------------------------------------
    def update_profile(
        self, first_name: str, last_name: str, audit: Audit, given: Details | None = None
    ) -> bool:
        """Фамилия и Имя, and the details ``given`` over the stored ones (checked per the kind,
        :func:`applicant.change`); no event when nothing changes (False)."""
        fields = applicant.change(self, first_name, last_name, given or {})
        if fields is None:
            return False
        self.trigger_event(self.ProfileUpdated, audit=audit, **fields)
        return True

    # the password -------------------------------------------------------------------------
    def change_password(self, current: str, new: str, keep_session: str, audit: Audit) -> None:
        """The person knows the current password; every session but ``keep_session`` ends."""
        if not verify_password(self.password_hash, current):
            raise Refused("wrong_password", "Текущий пароль указан неверно.")
        if verify_password(self.password_hash, new):
            raise Invalid("same_password", "Новый пароль должен отличаться от текущего.")
        self._set_password(new, by_reset=False, audit=audit)
        self.end_sessions("password_changed", audit, keep=keep_session)

    def ask_password_reset(self, nonce: str, expires_at: datetime, audit: Audit) -> None:
        """A single-use reset link; a newer one replaces it."""
        self._password_reset_requested(
            nonce=nonce, expires_at=expires_at, email=self.email, display_name=self.display_name, audit=audit
        )

    def reset_password(self, nonce: str, new: str, audit: Audit) -> None:
        """Reset by the latest link before it expires; every session ends."""
        if nonce != self.reset_nonce or self.reset_expires_at is None or self.reset_expires_at <= _now():
            raise bad_link()
        self._set_password(new, by_reset=True, audit=audit)
        self.end_sessions("password_reset", audit)

    def _set_password(self, new: str, *, by_reset: bool, audit: Audit) -> None:
        check_policy(new, self.login, self.email, (self.first_name, self.last_name))
        self._password_changed(
            password_hash=hash_password(new),
            by_reset=by_reset,
            email=self.email,
            display_name=self.display_name,
            audit=audit,
        )

    @event(PasswordResetRequested)
    def _password_reset_requested(
        self, nonce: str, expires_at: datetime, email: str, display_name: str, audit: Audit
    ) -> None:
        self.reset_nonce = nonce
        self.reset_expires_at = expires_at

    @event(PasswordChanged)
    def _password_changed(
        self, password_hash: str, by_reset: bool, email: str, display_name: str, audit: Audit
    ) -> None:
        self.password_hash = password_hash
        self.reset_nonce = None
        if by_reset:
            # Following the e-mailed link proves the address too.
            self.email_confirmed = True
            self.confirmation_nonce = None


class EmailOwner(Aggregate):
    """Reserves one e-mail address for one account."""

    class Reserved(Aggregate.Created):
        email: str
        account_id: uuid.UUID

    @staticmethod
    def create_id(email: str) -> uuid.UUID:
        return uuid.uuid5(_NS, "email:" + normalise_email(email))

    @event(Reserved)
    def __init__(self, *, email: str, account_id: uuid.UUID) -> None:
        self.email = email
        self.account_id = account_id


AGGREGATES = (Account, EmailOwner)
