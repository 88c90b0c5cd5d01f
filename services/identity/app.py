"""Identity's command side: one eventsourcing Application per process.

The library is synchronous; the API calls these methods from a worker thread.
Every rule is checked here, before an event is triggered: events are facts.
"""

from __future__ import annotations

import random
import secrets
import time
import unicodedata
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from services.identity.domain import ADMIN, CONSUMER, STAFF, Account, Audit, EmailOwner, normalise_email
from services.identity.passwords import check_policy, hash_password, verify_password
from services.identity.tokens import CONFIRM, RESET, issue_access_token, link_token, parse_link_token
from shared.auth import read_token
from shared.http import ApiError
from shared.idempotency import IdempotencyRecord, Keyed, recorded
from shared.settings import Settings


# Fresh errors every time: re-raising one shared instance appends each raise's frames
# (and their locals: passwords, tokens) to its __traceback__, forever and across threads.
def _bad_link() -> ApiError:
    return ApiError(400, "invalid_token", "Ссылка недействительна или устарела. Запросите новую.")


def _bad_credentials() -> ApiError:
    return ApiError(401, "invalid_credentials", "Неверный логин или пароль.")


def _not_authenticated() -> ApiError:
    return ApiError(401, "not_authenticated", "Требуется вход в личный кабинет.")


NAME_MAX = 100
# Each contender for one account can lose once to each other one: allow plenty of rounds.
LOGIN_ATTEMPTS = 20


def _now() -> datetime:
    return datetime.now(UTC)


def clean_name(value: str, field: str) -> str:
    """A person's name as data: trimmed, bounded, no control characters (markup is kept
    verbatim and escaped wherever it is shown)."""
    value = value.strip()
    if len(value) > NAME_MAX:
        raise ApiError(422, "invalid_name", f"{field}: не длиннее {NAME_MAX} символов.")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp") for ch in value):
        raise ApiError(422, "invalid_name", f"{field}: недопустимые символы.")
    return value


class IdentityApp(Application[uuid.UUID]):
    name = "identity"
    snapshotting_intervals = {Account: 50}  # noqa: RUF012 - the library's class attribute

    def __init__(self, settings: Settings, env: dict[str, str] | None = None) -> None:
        super().__init__(
            {
                **settings.eventstore_env("identity"),
                "AGGREGATE_CACHE_MAXSIZE": "2000",
                # This process is the only writer of its event store, and every save puts the
                # aggregate in the cache: a cached read needs no "anything newer?" query.
                "AGGREGATE_CACHE_FASTFORWARD": "n",
                **(env or {}),
            }
        )
        self.settings = settings
        self.on_saved: Callable[[], None] = lambda: None

    # helpers ------------------------------------------------------------------
    def _commit(self, *aggregates: Any) -> int:
        """Save and wake the relay; returns the last notification id written."""
        recordings = self.save(*aggregates)
        self.on_saved()
        return max((r.notification.id for r in recordings), default=0)

    def _get(self, account_id: uuid.UUID, *, readonly: bool = False) -> Account | None:
        try:
            account: Any = self.repository.get(account_id, deepcopy_from_cache=not readonly)
        except AggregateNotFoundError:
            return None
        return account if isinstance(account, Account) else None

    def account(self, account_id: uuid.UUID) -> Account | None:
        return self._get(account_id)

    def _by_email(self, email: str) -> Account | None:
        try:
            owner: Any = self.repository.get(EmailOwner.create_id(email))
        except AggregateNotFoundError:
            return None
        return self._get(owner.account_id)

    def token_for(self, account_id: uuid.UUID, nonce: str, purpose: str = CONFIRM) -> str:
        return link_token(self.settings.secret(), purpose, account_id, nonce)

    def _expiry(self, seconds: int) -> datetime:
        return _now() + timedelta(seconds=seconds)

    # registration ---------------------------------------------------------------
    def register(
        self, *, login: str, email: str, password: str, account_type: str, audit: Audit | None = None
    ) -> Account:
        """Self-registration: a consumer account that must confirm its e-mail."""
        return self.register_once(
            login=login, email=email, password=password, account_type=account_type, audit=audit
        )[0]

    def register_once(
        self,
        *,
        login: str,
        email: str,
        password: str,
        account_type: str,
        audit: Audit | None = None,
        request: Keyed | None = None,
    ) -> tuple[Account, bool]:
        """:meth:`register`, (account, created). Under an idempotency key (``request``: the
        record's id and the request's fingerprint, see shared/idempotency.py) a repeat of the
        same request returns the account it made the first time, ``created`` False."""
        if account_type != CONSUMER:
            raise ApiError(
                422,
                "account_type_not_allowed",
                "Самостоятельно можно зарегистрироваться только как «Потребитель».",
            )
        return self._create(
            login=login,
            email=email,
            password=password,
            account_type=CONSUMER,
            roles=[CONSUMER],
            confirmed=False,
            audit={"actor": "self", **(audit or {})},
            request=request,
        )

    def create_staff(self, *, login: str, email: str, password: str, admin: bool, audit: Audit) -> Account:
        """A confirmed staff account (never self-registered; ``lk admin create-staff``)."""
        account, _ = self._create(
            login=login,
            email=email,
            password=password,
            account_type=STAFF,
            roles=[STAFF, ADMIN] if admin else [STAFF],
            confirmed=True,
            audit=audit,
        )
        return account

    def _create(
        self,
        *,
        login: str,
        email: str,
        password: str,
        account_type: str,
        roles: list[str],
        confirmed: bool,
        audit: Audit,
        request: Keyed | None = None,
    ) -> tuple[Account, bool]:
        earlier = self._earlier(request)
        if earlier is not None:
            return earlier, False  # the same request again (its answer was lost): nothing new
        check_policy(password, login, email)
        account_id = Account.create_id(login)
        if self._get(account_id) is not None:
            raise ApiError(409, "login_taken", "Этот логин уже занят.")
        email_id = EmailOwner.create_id(email)
        if email_id in self.repository:
            raise ApiError(409, "email_taken", "Этот адрес e-mail уже зарегистрирован.")
        account = Account(
            login=login,
            email=email,
            password_hash=hash_password(password),
            account_type=account_type,
            roles=roles,
            confirmation_nonce=None if confirmed else secrets.token_hex(16),
            confirmation_expires_at=None if confirmed else self._expiry(self.settings.confirmation_ttl),
            audit=audit,
        )
        if confirmed:
            account.confirm_email(email=email, audit=audit)
        owner = EmailOwner(email=normalise_email(email), account_id=account.id)
        records = (
            [IdempotencyRecord(record_id=request[0], fingerprint=request[1], result_id=str(account.id))]
            if request
            else []
        )
        try:
            self._commit(account, owner, *records)
        except IntegrityError:
            # Lost a race: with the same key, the winner's account is the answer; else report
            # what is taken now.
            earlier = self._earlier(request)
            if earlier is not None:
                return earlier, False
            if self._get(account_id) is not None:
                raise ApiError(409, "login_taken", "Этот логин уже занят.") from None
            raise ApiError(409, "email_taken", "Этот адрес e-mail уже зарегистрирован.") from None
        return account, True

    def _earlier(self, request: Keyed | None) -> Account | None:
        """The account an identical earlier request created (422 for a reused key)."""
        if request is None:
            return None
        found = recorded(self, *request)
        return self._get(uuid.UUID(found)) if found else None

    def confirm_email(self, token: str, audit: Audit | None = None) -> Account:
        parsed = parse_link_token(self.settings.secret(), CONFIRM, token)
        account = self._get(parsed[0]) if parsed else None
        if parsed is None or account is None:
            raise _bad_link()
        if account.email_confirmed:
            raise ApiError(
                409, "already_confirmed", "Адрес e-mail уже подтверждён. Войдите в личный кабинет."
            )
        expires = account.confirmation_expires_at
        if account.confirmation_nonce != parsed[1] or expires is None or expires <= _now():
            raise _bad_link()
        account.confirm_email(email=account.email, audit={"actor": "self", **(audit or {})})
        self._commit(account)
        return account

    def resend_confirmation(self, email: str, audit: Audit | None = None) -> None:
        """Send a new link; silently does nothing for unknown or confirmed addresses,
        so the answer never tells whether an address is registered."""
        account = self._by_email(email)
        if account is None or account.email_confirmed:
            return
        account.request_confirmation(
            nonce=secrets.token_hex(16),
            expires_at=self._expiry(self.settings.confirmation_ttl),
            email=account.email,
            audit={"actor": "self", **(audit or {})},
        )
        self._commit(account)

    # sessions -----------------------------------------------------------------------
    def log_in(self, login: str, password: str, audit: Audit | None = None) -> tuple[str, int, Account]:
        """Check the credentials and open a session; returns (token, ttl, account)."""
        account = self._get(Account.create_id(login)) if login.strip() else None
        ok = verify_password(account.password_hash if account else None, password)
        if account is None or not ok:
            raise _bad_credentials()
        if not account.email_confirmed:
            raise ApiError(
                403,
                "email_not_confirmed",
                "Адрес e-mail не подтверждён. Перейдите по ссылке из письма или запросите новую.",
            )
        audit = {"actor": str(account.id), **(audit or {})}
        verified_hash = account.password_hash
        ttl = self.settings.access_token_ttl
        for attempt in range(LOGIN_ATTEMPTS):
            for stale in account.expired_sessions(_now()):
                account.end_session(session_id=stale, reason="expired", audit=audit)
            session_id = secrets.token_hex(16)
            expires_at = self._expiry(ttl)
            account.start_session(
                session_id=session_id,
                expires_at=expires_at,
                account_type=account.account_type,
                roles=list(account.roles),
                audit=audit,
            )
            try:
                position = self._commit(account)
                break
            except IntegrityError:
                # Another login of the same account saved first: start again from its version
                # (the password was checked once; it must still be the one checked).
                fresh = self._get(account.id)
                if attempt == LOGIN_ATTEMPTS - 1 or fresh is None or fresh.password_hash != verified_hash:
                    raise
                account = fresh
                time.sleep(random.uniform(0, 0.01 * (attempt + 1)))  # spread out the contenders
        token = issue_access_token(
            self.settings.secret(), account.id, session_id, expires_at, position, sequence=account.version
        )
        return token, ttl, account

    def authenticate(self, token: str, *, readonly: bool = False) -> tuple[Account, str]:
        """The account and session of a valid bearer token; 401 otherwise. Identity
        checks against the aggregate itself (the source of truth)."""
        claims = read_token(self.settings.secret(), token)
        # readonly: the cached aggregate itself, not a copy; the caller must not change it.
        account = self._get(uuid.UUID(claims.account_id), readonly=readonly) if claims else None
        if claims is None or account is None or not account.has_session(claims.session_id, _now()):
            raise _not_authenticated()
        return account, claims.session_id

    def log_out(self, account: Account, session_id: str, audit: Audit | None = None) -> None:
        account.end_session(
            session_id=session_id, reason="logout", audit={"actor": str(account.id), **(audit or {})}
        )
        self._commit(account)

    # profile and password -------------------------------------------------------------
    def update_profile(
        self, account: Account, first_name: str, last_name: str, audit: Audit | None = None
    ) -> Account:
        first = clean_name(first_name, "Имя")
        last = clean_name(last_name, "Фамилия")
        if (first, last) != (account.first_name, account.last_name):
            account.update_profile(
                first_name=first,
                last_name=last,
                display_name=account.display_name_for(first, last),
                audit={"actor": str(account.id), **(audit or {})},
            )
            self._commit(account)
        return account

    def change_password(
        self, account: Account, session_id: str, current: str, new: str, audit: Audit | None = None
    ) -> None:
        """Change the password; every other session of the account ends, this one stays."""
        if not verify_password(account.password_hash, current):
            raise ApiError(400, "wrong_password", "Текущий пароль указан неверно.")
        if verify_password(account.password_hash, new):
            raise ApiError(422, "same_password", "Новый пароль должен отличаться от текущего.")
        check_policy(new, account.login, account.email, (account.first_name, account.last_name))
        audit = {"actor": str(account.id), **(audit or {})}
        account.change_password(
            password_hash=hash_password(new),
            by_reset=False,
            email=account.email,
            display_name=account.display_name,
            audit=audit,
        )
        account.end_sessions("password_changed", audit, keep=session_id)
        self._commit(account)

    def request_password_reset(self, email: str, audit: Audit | None = None) -> None:
        """E-mail a single-use reset link valid for an hour. Unknown addresses: nothing
        happens and nothing tells the caller so."""
        account = self._by_email(email)
        if account is None:
            return
        account.request_password_reset(
            nonce=secrets.token_hex(16),
            expires_at=self._expiry(self.settings.reset_ttl),
            email=account.email,
            display_name=account.display_name,
            audit={"actor": "self", **(audit or {})},
        )
        self._commit(account)

    def reset_password(self, token: str, new: str, audit: Audit | None = None) -> Account:
        """Set a new password from an e-mailed link; every session of the account ends."""
        parsed = parse_link_token(self.settings.secret(), RESET, token)
        account = self._get(parsed[0]) if parsed else None
        if parsed is None or account is None or account.reset_nonce != parsed[1]:
            raise _bad_link()
        if account.reset_expires_at is None or account.reset_expires_at <= _now():
            raise _bad_link()
        check_policy(new, account.login, account.email, (account.first_name, account.last_name))
        audit = {"actor": "self", **(audit or {})}
        account.change_password(
            password_hash=hash_password(new),
            by_reset=True,
            email=account.email,
            display_name=account.display_name,
            audit=audit,
        )
        account.end_sessions("password_reset", audit)
        self._commit(account)
        return account

    # audit ------------------------------------------------------------------------------
    def history(self, account_id: uuid.UUID) -> list[dict[str, Any]]:
        """Every event of an account, oldest first, with who and from where."""
        out = []
        domain_event: Any
        for domain_event in self.repository.event_store.get(account_id):
            name = type(domain_event).__qualname__.split(".")[-1]
            if name == "Snapshot":
                continue
            audit = getattr(domain_event, "audit", {}) or {}
            out.append(
                {
                    "version": domain_event.originator_version,
                    "type": name,
                    "at": domain_event.timestamp.isoformat(),
                    "actor": audit.get("actor", ""),
                    "ip": audit.get("ip", ""),
                    "user_agent": audit.get("user_agent", ""),
                }
            )
        return out
