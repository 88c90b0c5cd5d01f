"""Accounts come to be: self-registration as «Потребитель» (under an idempotency key when
the client sends one) and staff accounts made by an operator."""

from __future__ import annotations

import secrets
import uuid

from eventsourcing.persistence import IntegrityError

from services.identity.domain import Account, EmailOwner
from services.identity.passwords import check_policy, hash_password
from services.identity.use_cases.base import IdentityBase
from services.identity.values import ADMIN, CONSUMER, STAFF, Audit, by, normalise_email
from shared.errors import Conflict, Invalid
from shared.idempotency import IdempotencyRecord, Keyed, recorded


def _login_taken() -> Conflict:
    return Conflict("login_taken", "Этот логин уже занят.")


def _email_taken() -> Conflict:
    return Conflict("email_taken", "Этот адрес e-mail уже зарегистрирован.")


class Registration(IdentityBase):
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
            raise Invalid(
                "account_type_not_allowed",
                "Самостоятельно можно зарегистрироваться только как «Потребитель».",
            )
        return self._create(login, email, password, CONSUMER, [CONSUMER], by("self", audit), request)

    def create_staff(self, *, login: str, email: str, password: str, admin: bool, audit: Audit) -> Account:
        """A confirmed staff account (never self-registered; ``lk admin create-staff``)."""
        roles = [STAFF, ADMIN] if admin else [STAFF]
        return self._create(login, email, password, STAFF, roles, audit, None)[0]

    def _create(
        self,
        login: str,
        email: str,
        password: str,
        account_type: str,
        roles: list[str],
        audit: Audit,
        request: Keyed | None,
    ) -> tuple[Account, bool]:
        """A new account and its e-mail reservation in one save; staff need no confirmation."""
        earlier = self._earlier(request)
        if earlier is not None:
            return earlier, False  # the same request again (its answer was lost): nothing new
        check_policy(password, login, email)
        confirmed = account_type == STAFF
        account_id = Account.create_id(login)
        if self.account(account_id) is not None:
            raise _login_taken()
        if EmailOwner.create_id(email) in self.repository:
            raise _email_taken()
        account = Account(
            login=login,
            email=email,
            password_hash=hash_password(password),
            account_type=account_type,
            roles=roles,
            confirmation_nonce=None if confirmed else secrets.token_hex(16),
            confirmation_expires_at=None if confirmed else self.expiry(self.settings.confirmation_ttl),
            audit=audit,
        )
        if confirmed:
            account.trust_email(audit)
        owner = EmailOwner(email=normalise_email(email), account_id=account.id)
        records = (
            [IdempotencyRecord(record_id=request[0], fingerprint=request[1], result_id=str(account.id))]
            if request
            else []
        )
        try:
            self.commit(account, owner, *records)
        except IntegrityError:
            # Lost a race: with the same key, the winner's account is the answer; else report
            # what is taken now.
            earlier = self._earlier(request)
            if earlier is not None:
                return earlier, False
            raise (_login_taken() if self.account(account_id) is not None else _email_taken()) from None
        return account, True

    def _earlier(self, request: Keyed | None) -> Account | None:
        """The account an identical earlier request created (422 for a reused key)."""
        if request is None:
            return None
        found = recorded(self, *request)
        return self.account(uuid.UUID(found)) if found else None
