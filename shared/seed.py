"""``lk ops seed``: fill the services' event stores with realistic data, fast, for benchmarks
and load tests — never in production (refused unless ``LK_ALLOW_SEED`` is set).

The data are real events: each service's own seeder builds its aggregates through its own
domain (accounts registered and confirmed, applications filed and moved through their
statuses by a staff member, chat threads with messages) and saves them in its own event
store, many aggregates per transaction (``Application.save(*aggregates)``). Nothing goes
through HTTP, and nothing bypasses the outbox: each service's relay publishes the seeded
events like any others and the projections build the read models from them, as in
production. The services may be running meanwhile (their relays pick the events up) or
started afterwards.

Seeded people have addresses of the reserved ``.invalid`` domain (RFC 2606), which no
mail can reach: the notifier writes no e-mail for them (services/notifier/outbox.py).

The kernel names the seeders, never imports them (as shared/cli.py does for commands)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

import typer
from eventsourcing.application import Application
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from shared.settings import Settings

SEED_DOMAIN = "example.invalid"  # RFC 2606: reserved, never delivered to
SEEDERS = (
    ("identity", "services.identity.seed:seed"),
    ("applications", "services.applications.seed:seed"),
    ("chat", "services.chat.seed:seed"),
)
REFUSED = (
    "Наполнение тестовыми данными запрещено: это не тестовая среда. Разрешите его явно переменной"
    " LK_ALLOW_SEED=1 (только для тестов и замеров, никогда в эксплуатации)."
)


@dataclass(frozen=True)
class SeededAccount:
    account_id: str
    login: str
    email: str
    name: str


@dataclass(frozen=True)
class SeededApplication:
    application_id: str
    applicant_id: str
    number: str


Advance = Callable[[str, int], None]
"""(stage, how many more of it are done): the seeders report their progress."""


@dataclass
class SeedPlan:
    """What to make; the seeders fill in what they made for the next one."""

    accounts: int
    applications: int
    messages: int = 3  # per application's chat thread (0: no threads)
    tag: str = field(default_factory=lambda: secrets.token_hex(3))  # distinct logins per run
    batch: int = 500  # aggregates per transaction
    password: str = "Seed-Пароль-2026!"  # every seeded account's (one hash: seeding is fast)
    advance: Advance = lambda stage, n: None
    staff: SeededAccount | None = None
    people: list[SeededAccount] = field(default_factory=list)
    filed: list[SeededApplication] = field(default_factory=list)
    events: dict[str, int] = field(default_factory=dict)  # service → events saved

    def login(self, i: int) -> str:
        return f"seed-{self.tag}-{i}"

    def email(self, i: int) -> str:
        return f"seed-{self.tag}-{i}@{SEED_DOMAIN}"

    def stages(self) -> dict[str, int]:
        """Each stage and how many units it counts (for the progress bars)."""
        return {
            "identity": self.accounts + 1,
            "applications": self.applications,
            "chat": self.applications if self.messages else 0,
        }


class Saver:
    """Saves a stage's aggregates in transactions of ``plan.batch`` units (an account with its
    reservation, an application, a thread), counting the events and reporting progress."""

    def __init__(self, app: Application[Any], plan: SeedPlan, stage: str) -> None:
        self.app = app
        self.plan = plan
        self.stage = stage
        self.pending: list[Any] = []
        self.units = 0
        self.saved = 0

    def add(self, *aggregates: Any) -> None:
        self.pending.extend(aggregates)
        self.units += 1
        if self.units >= self.plan.batch:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.saved += len(self.app.save(*self.pending))
        self.plan.advance(self.stage, self.units)
        self.pending, self.units = [], 0
        self.plan.events[self.stage] = self.saved


def allowed(settings: Settings) -> bool:
    return settings.allow_seed


def run_seed(settings: Settings, plan: SeedPlan) -> SeedPlan:
    """Run every service's seeder in order (accounts, then their applications, then chats)."""
    if not allowed(settings):
        raise PermissionError(REFUSED)
    if plan.applications and plan.accounts < 1:
        raise ValueError("applications need at least one account")
    for _service, where in SEEDERS:
        module, attr = where.split(":")
        seeder: Callable[[Settings, SeedPlan], Any] = getattr(import_module(module), attr)
        seeder(settings, plan)
    return plan


def seed_command(
    accounts: int = typer.Option(1000, "--accounts", min=0, help="Сколько учётных записей потребителей"),
    applications: int = typer.Option(
        1000, "--applications", min=0, help="Сколько заявок (с историей статусов)"
    ),
    messages: int = typer.Option(3, "--messages", min=0, help="Сообщений в переписке по каждой заявке"),
    batch: int = typer.Option(500, "--batch", min=1, help="Агрегатов в одной транзакции хранилища событий"),
    tag: str = typer.Option("", "--tag", help="Метка логинов seed-<метка>-N (по умолчанию случайная)"),
) -> None:
    """Наполнить хранилища событий тестовыми данными (только при LK_ALLOW_SEED=1): учётные записи,
    заявки с историей статусов, переписка. События публикуются ретрансляторами как обычно."""
    settings = Settings()
    if not allowed(settings):
        typer.echo(REFUSED, err=True)
        raise typer.Exit(2)
    if applications and not accounts:
        typer.echo("Для заявок нужна хотя бы одна учётная запись (--accounts).", err=True)
        raise typer.Exit(2)
    if tag and not (tag.isascii() and tag.replace("-", "").isalnum()):
        typer.echo("Метка: латинские буквы, цифры и дефис.", err=True)
        raise typer.Exit(2)
    plan = SeedPlan(accounts, applications, messages, batch=batch)
    plan.tag = tag or plan.tag
    started = time.perf_counter()
    with Progress(
        TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
    ) as bar:
        tasks = {stage: bar.add_task(stage, total=total) for stage, total in plan.stages().items() if total}
        plan.advance = lambda stage, n: bar.advance(tasks[stage], n)
        run_seed(settings, plan)
    elapsed = time.perf_counter() - started
    total = sum(plan.events.values())
    per_service = ", ".join(f"{service} {count}" for service, count in plan.events.items())
    typer.echo(
        f"Готово за {elapsed:.1f} с: {total} событий ({per_service}), {total / max(elapsed, 1e-9):.0f} событий/с."
        f" Учётные записи seed-{plan.tag}-N, пароль «{plan.password}»; сотрудник seed-{plan.tag}-staff."
    )
