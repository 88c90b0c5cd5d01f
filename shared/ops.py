"""``lk ops``: operators' tools — read a topic, reset a read model for a rebuild, audit
an account, see how far relays and projections are, handle dead letters."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import typer

from shared import deadletters
from shared.events import Envelope
from shared.readstore import ReadStore, build_readstore
from shared.settings import Settings
from shared.transport import TransportUnavailable, build_transport

ops_cli = typer.Typer(
    help="Эксплуатация: чтение топиков, перестроение моделей чтения, аудит.", no_args_is_help=True
)
SERVICES = ("identity", "applications", "chat", "files")
READ_STORES = (*SERVICES, "notifier", "gateway")  # every service with a read store
dead_cli = typer.Typer(
    help="Отложенные события (dead letters): те, что проекция не смогла применить (отложены, проекция идёт дальше).",
    no_args_is_help=True,
)
ops_cli.add_typer(dead_cli, name="dead-letters")


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


def _table(headers: tuple[str, ...], rows: Sequence[tuple[object, ...]]) -> list[str]:
    """Columns as wide as their longest cell; numbers to the right."""
    cells = [tuple(str(c) for c in row) for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    numeric = [bool(rows) and all(isinstance(r[i], int) for r in rows) for i in range(len(headers))]

    def line(values: tuple[str, ...]) -> str:
        return "  ".join(
            v.rjust(w) if n else v.ljust(w) for v, w, n in zip(values, widths, numeric, strict=True)
        )

    return [line(headers), "  ".join("-" * w for w in widths), *(line(r).rstrip() for r in cells)]


@ops_cli.command("lag")
def lag(as_json: bool = typer.Option(False, "--json", help="JSON: consumers и relays")) -> None:
    """Отставание: у каждого потребителя по разделам (конец топика минус его позиция) и у реле
    каждого сервиса (последнее событие хранилища минус опубликованное)."""
    from shared.lag import ConsumerLag, RelayBacklog, every_topic, stored_backlog, stored_lags

    settings = Settings()

    async def run() -> tuple[list[ConsumerLag], list[RelayBacklog]]:
        transport = build_transport(settings)
        await transport.start()
        try:
            ends = await transport.end_offsets(every_topic(settings))
        finally:
            await transport.stop()
        consumers: list[ConsumerLag] = []
        relays: list[RelayBacklog] = []
        for service in READ_STORES:
            async with _store_of(settings, service) as store:
                consumers.extend(await stored_lags(settings, service, store, ends))
                if service in SERVICES:
                    backlog = await stored_backlog(settings, service, store)
                    if backlog is not None:
                        relays.append(backlog)
        return consumers, relays

    try:
        consumers, relays = asyncio.run(run())
    except TransportUnavailable as exc:
        typer.echo(f"Шина событий недоступна, концы топиков не узнать: {exc}", err=True)
        raise typer.Exit(1) from exc
    if as_json:
        body = {"consumers": [c.as_dict() for c in consumers], "relays": [r.as_dict() for r in relays]}
        typer.echo(json.dumps(body, ensure_ascii=False, indent=2))
        return
    headers = ("Сервис", "Потребитель", "Топик", "Раздел", "Конец", "Позиция", "Отставание")
    rows = [
        (c.service, c.consumer, c.topic, c.partition, c.end_offset, c.next_offset, c.lag) for c in consumers
    ]
    for text in _table(headers, rows):
        typer.echo(text)
    typer.echo("")
    relay_headers = ("Сервис", "Последнее событие", "Опубликовано реле", "Отставание реле")
    for text in _table(relay_headers, [(r.service, r.last_id, r.position, r.backlog) for r in relays]):
        typer.echo(text)
    behind = sum(c.lag for c in consumers) + sum(r.backlog for r in relays)
    typer.echo(f"\nВсего не обработано: {behind}.")


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


@asynccontextmanager
async def _store_of(settings: Settings, service: str) -> AsyncIterator[ReadStore]:
    store = build_readstore(settings, service)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


def _services(service: str) -> tuple[str, ...]:
    if not service:
        return READ_STORES
    if service not in READ_STORES:
        raise typer.BadParameter(f"неизвестный сервис: {service}")
    return (service,)


async def _letters_of(settings: Settings, service: str, include_skipped: bool) -> list[dict[str, object]]:
    async with _store_of(settings, service) as store:
        try:
            rows = await deadletters.letters(store, service, include_skipped)
        except Exception:  # noqa: BLE001 - a service that has not run yet has no table
            return []
    return [{"service": service, **deadletters.as_text(row)} for row in rows]


@dead_cli.command("list")
def dead_letters_list(
    service: str = typer.Option("", "--service", help="Только этого сервиса"),
    include_skipped: bool = typer.Option(False, "--all", help="И пропущенные (они хранятся для аудита)"),
    as_json: bool = typer.Option(False, "--json", help="JSON, по строке на событие"),
) -> None:
    """Отложенные события: какой потребитель, где в топике, что за событие и почему не применилось."""
    settings = Settings()

    async def run() -> list[dict[str, object]]:
        found: list[dict[str, object]] = []
        for name in _services(service):
            found.extend(await _letters_of(settings, name, include_skipped))
        return found

    found = asyncio.run(run())
    if as_json:
        for row in found:
            typer.echo(json.dumps(row, ensure_ascii=False))
        return
    if not found:
        typer.echo("Отложенных событий нет.")
        return
    for row in found:
        typer.echo(
            f"#{row['id']} [{row['status']}] {row['service']} / {row['consumer']}: {row['topic']}"
            f"[{row['part']}]@{row['offs']} {row['event_type'] or '(не разбирается)'}"
            f" {row['source']}/{row['subject']} v{row['sequence']}\n"
            f"    попыток {row['attempts']}, первая ошибка {row['first_failed_at']},"
            f" последняя {row['last_failed_at']}\n    {row['error']}"
        )


async def _find(settings: Settings, service: str, letter_id: int) -> tuple[str, dict[str, object]]:
    """The open letter ``letter_id`` and its service (asked of each service when none is given;
    ids are per service on SQLite, so two may hold the same one)."""
    found: list[tuple[str, dict[str, object]]] = []
    for name in _services(service):
        async with _store_of(settings, name) as store:
            try:
                row = await deadletters.letter(store, name, letter_id)
            except Exception:  # noqa: BLE001, S112 - a service that has not run yet has no table
                continue
        if row is not None:
            found.append((name, row))
    if not found:
        typer.echo(f"Отложенного события #{letter_id} нет.", err=True)
        raise typer.Exit(1)
    if len(found) > 1:
        names = ", ".join(name for name, _ in found)
        typer.echo(f"Событие #{letter_id} есть у нескольких сервисов ({names}): укажите --service.", err=True)
        raise typer.Exit(2)
    return found[0]


@dead_cli.command("retry")
def dead_letters_retry(
    letter_id: int = typer.Argument(..., metavar="ID", help="Номер события из list"),
    service: str = typer.Option("", "--service", help="Сервис события (если номер есть у нескольких)"),
    wait: float = typer.Option(30.0, help="Ждать результата столько секунд"),
) -> None:
    """Применить отложенное событие заново через проекцию работающего сервиса;
    при успехе оно удаляется, при ошибке остаётся отложенным с новой ошибкой."""
    settings = Settings()

    async def run() -> int:
        name, row = await _find(settings, service, letter_id)
        if row["status"] == deadletters.SKIPPED:
            typer.echo(f"Событие #{letter_id} пропущено, повторить его нельзя.", err=True)
            return 1
        if not row["event_type"]:
            typer.echo(
                f"Событие #{letter_id} не разбирается как событие: его можно только пропустить.", err=True
            )
            return 1
        async with _store_of(settings, name) as store:
            if not await deadletters.mark(store, name, letter_id, deadletters.RETRY):
                typer.echo(f"Событие #{letter_id} уже закрыто.", err=True)
                return 1
            typer.echo(f"Повтор события #{letter_id} запрошен у сервиса {name}…")
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                await asyncio.sleep(0.2)
                now = await deadletters.letter(store, name, letter_id)
                if now is None:
                    typer.echo(f"Событие #{letter_id} применено и удалено.")
                    return 0
                if now["status"] == deadletters.PARKED:
                    typer.echo(f"Повтор не удался, событие снова отложено: {now['error']}", err=True)
                    return 1
        typer.echo(
            f"Сервис {name} ещё не применил событие #{letter_id} (запущен ли он?); он применит его, когда заработает."
        )
        return 2

    code = asyncio.run(run())
    if code:
        raise typer.Exit(code)


@dead_cli.command("skip")
def dead_letters_skip(
    letter_id: int = typer.Argument(..., metavar="ID", help="Номер события из list"),
    service: str = typer.Option("", "--service", help="Сервис события (если номер есть у нескольких)"),
    yes: bool = typer.Option(False, "--yes", help="Без подтверждения"),
) -> None:
    """Пропустить отложенное событие насовсем: оно остаётся в таблице с отметкой для аудита."""
    settings = Settings()
    name, row = asyncio.run(_find(settings, service, letter_id))
    if row["status"] == deadletters.SKIPPED:
        typer.echo(f"Событие #{letter_id} уже пропущено.")
        return
    if not yes:
        typer.confirm(
            f"Пропустить событие #{letter_id} ({row['consumer']}, {row['event_type'] or 'не разбирается'})?"
            " Проекция его так и не применит.",
            abort=True,
        )

    async def run() -> bool:
        async with _store_of(settings, name) as store:
            return await deadletters.mark(store, name, letter_id, deadletters.SKIPPED)

    if not asyncio.run(run()):
        typer.echo(f"Событие #{letter_id} уже закрыто.", err=True)
        raise typer.Exit(1)
    typer.echo(f"Событие #{letter_id} пропущено (сохранено для аудита).")
