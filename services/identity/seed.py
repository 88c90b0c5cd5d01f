"""Identity's part of ``lk ops seed`` (shared/seed.py): confirmed consumer accounts and one
staff member, each with its e-mail reservation, saved many per transaction. One password
hash serves them all (argon2 per account would take most of the time)."""

from __future__ import annotations

from eventsourcing.domain import Aggregate

from services.identity.app import IdentityApp
from services.identity.domain import Account, EmailOwner
from services.identity.passwords import hash_password
from services.identity.values import CONSUMER, STAFF, normalise_email
from shared.seed import Saver, SeededAccount, SeedPlan
from shared.settings import Settings

AUDIT = {"actor": "cli", "ip": "local", "user_agent": "lk ops seed"}


def _account(login: str, email: str, password_hash: str, roles: list[str]) -> list[Aggregate]:
    """A confirmed account (no confirmation link: no e-mail to send) and its reservation."""
    account = Account(
        login=login,
        email=email,
        password_hash=password_hash,
        account_type=STAFF if STAFF in roles else CONSUMER,
        roles=roles,
        confirmation_nonce=None,
        confirmation_expires_at=None,
        audit=AUDIT,
    )
    account.trust_email(AUDIT)
    return [account, EmailOwner(email=normalise_email(email), account_id=account.id)]


def seed(settings: Settings, plan: SeedPlan) -> None:
    app = IdentityApp(settings)
    try:
        password_hash = hash_password(plan.password)
        staff_login = plan.login(0).removesuffix("-0") + "-staff"
        staff_email = f"{staff_login}@{plan.email(0).rsplit('@', 1)[1]}"
        saver = Saver(app, plan, "identity")
        staff = _account(staff_login, staff_email, password_hash, [STAFF])
        plan.staff = SeededAccount(str(staff[0].id), staff_login, staff_email, "Сотрудник наполнения")
        saver.add(*staff)
        for i in range(1, plan.accounts + 1):
            login, email = plan.login(i), plan.email(i)
            made = _account(login, email, password_hash, [CONSUMER])
            plan.people.append(SeededAccount(str(made[0].id), login, email, f"Заявитель {plan.tag}-{i}"))
            saver.add(*made)
        saver.flush()
    finally:
        app.close()
