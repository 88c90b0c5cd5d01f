"""Identity's commands of ``lk``: staff accounts (``lk admin create-staff``) and the audit of
an account (``lk admin audit``, also ``lk ops audit``). They write to and read from identity's
event store directly, in either mode; the relay publishes what they record like anything else."""

from __future__ import annotations

import json
import uuid

import typer
from email_validator import EmailNotValidError, validate_email

from services.identity.app import IdentityApp
from shared.errors import DomainError
from shared.settings import Settings

admin_cli = typer.Typer(
    help="Администрирование: учётные записи сотрудников, аудит учётной записи.", no_args_is_help=True
)


@admin_cli.command("create-staff")
def create_staff(
    login: str = typer.Option(..., help="Логин сотрудника"),
    email: str = typer.Option(..., help="E-mail сотрудника"),
    password: str = typer.Option(None, help="Пароль (если не указан, будет запрошен)", show_default=False),
    admin: bool = typer.Option(False, "--admin", help="Также выдать роль администратора"),
) -> None:
    """Создать подтверждённую учётную запись сотрудника сетевой организации."""
    try:
        email = validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError:
        typer.echo("Ошибка: некорректный адрес e-mail.", err=True)
        raise typer.Exit(2) from None
    if password is None:
        password = typer.prompt("Пароль", hide_input=True, confirmation_prompt="Пароль ещё раз")
    identity = IdentityApp(Settings())
    try:
        account = identity.create_staff(
            login=login,
            email=email,
            password=password,
            admin=admin,
            audit={"actor": "cli", "ip": "local", "user_agent": "lk admin create-staff"},
        )
    except DomainError as exc:
        typer.echo(f"Ошибка: {exc.message}", err=True)
        raise typer.Exit(1) from None
    finally:
        identity.close()
    roles = ", ".join(account.roles)
    typer.echo(f"Создан сотрудник {account.login} ({account.email}), роли: {roles}, id {account.id}")


@admin_cli.command("audit")
def audit(account_id: str = typer.Argument(..., help="id учётной записи")) -> None:
    """Кто, когда и откуда менял учётную запись (из журнала событий identity), строки JSON."""
    identity = IdentityApp(Settings())
    try:
        for item in identity.history(uuid.UUID(account_id)):
            typer.echo(json.dumps(item, ensure_ascii=False))
    finally:
        identity.close()
