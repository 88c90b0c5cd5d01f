"""``lk ops``: operators' tools — read a topic, reset a read model for a rebuild, audit
an account, see how far relays and projections are."""

from __future__ import annotations

import asyncio
import json
import time

import typer

from shared.events import Envelope
from shared.readstore import build_readstore
from shared.settings import Settings
from shared.transport import build_transport

ops_cli = typer.Typer(
    help="Эксплуатация: чтение топиков, перестроение моделей чтения, аудит.", no_args_is_help=True
)
SERVICES = ("identity", "applications", "chat", "files")


@ops_cli.command("replay")
def replay(
    service: str = typer.Argument(..., help="identity | applications | chat | files"),
    subject: str = typer.Option("", help="Только события этого агрегата"),
    limit: int = typer.Option(1000, help="Не больше стольких событий"),
    idle: float = typer.Option(2.0, help="Остановиться, если новых событий нет столько секунд"),
) -> None:
    """Print the public events of a service's topic from the beginning (JSON lines)."""
    if service not in SERVICES:
        raise typer.BadParameter(f"неизвестный сервис: {service}")
    settings = Settings()

    async def run() -> None:
        transport = build_transport(settings)
        await transport.start()
        shown, last = 0, time.monotonic()
        try:
            async for batch in transport.consume([settings.topic(service)], {}):
                for message in batch:
                    event = Envelope.from_bytes(message.value)
                    if subject and event.subject != subject:
                        continue
                    typer.echo(event.model_dump_json())
                    shown += 1
                    if shown >= limit:
                        return
                last = time.monotonic() if batch else last
                if time.monotonic() - last > idle:
                    return
        finally:
            await transport.stop()

    asyncio.run(run())


@ops_cli.command("reset-projection")
def reset_projection(
    service: str = typer.Argument(..., help="Сервис, которому принадлежит модель чтения"),
    consumer: str = typer.Argument(..., help="Имя проекции, например applications.view"),
    tables: list[str] = typer.Option([], "--table", help="Таблицы модели, которые очистить"),  # noqa: B008
    yes: bool = typer.Option(False, "--yes", help="Без подтверждения"),
) -> None:
    """Forget a projection's rows and position; it rebuilds from offset 0 when its service
    next starts (stop the service first)."""
    if not yes:
        typer.confirm(f"Очистить {', '.join(tables) or 'позицию'} проекции {consumer}?", abort=True)
    settings = Settings()

    async def run() -> None:
        store = build_readstore(settings, service)
        await store.open()
        try:
            async with store.transaction() as tx:
                for table in tables:
                    if not table.replace("_", "").isalnum() or not table.startswith(service):
                        raise typer.BadParameter(f"недопустимая таблица: {table}")
                    await tx.execute(f"DELETE FROM {table}")  # noqa: S608 - checked above
                await tx.execute("DELETE FROM lk_consumer_offsets WHERE consumer = $1", consumer)
                await tx.execute("DELETE FROM lk_consumer_applied WHERE consumer = $1", consumer)
        finally:
            await store.close()

    asyncio.run(run())
    typer.echo(f"Проекция {consumer} сброшена; она перестроится при запуске сервиса {service}.")


@ops_cli.command("topology")
def topology() -> None:
    """Which service publishes which public events and which projection reads which topics."""
    from shared.topology import lines

    for line in lines():
        typer.echo(line)


@ops_cli.command("positions")
def positions() -> None:
    """How far each relay has published and each projection has consumed."""
    settings = Settings()

    async def run() -> None:
        for service in (*SERVICES, "notifier", "gateway"):
            store = build_readstore(settings, service)
            await store.open()
            try:
                for sql in (
                    "SELECT name, position FROM lk_relay_positions",
                    "SELECT consumer, topic, part, next_offset FROM lk_consumer_offsets ORDER BY consumer, topic, part",
                ):
                    try:
                        for row in await store.fetch(sql):
                            typer.echo(f"{service}: " + json.dumps(row, ensure_ascii=False))
                    except Exception:  # noqa: BLE001, S112 - a service that has not run yet has no tables
                        continue
            finally:
                await store.close()

    asyncio.run(run())
