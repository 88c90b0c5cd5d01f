"""``lk``: the one command behind the Makefile (run modes, single services, mail)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from importlib import import_module
from typing import Any

import httpx
import typer
import uvicorn
from fastapi import FastAPI

from shared.edge import UPSTREAM_IDLE
from shared.logs import configure_logging
from shared.ops import ops_cli
from shared.settings import SERVICE_PORTS, Settings

cli = typer.Typer(
    help="Личный кабинет ТП: запуск и обслуживание.", no_args_is_help=True, add_completion=False
)
mail_cli = typer.Typer(help="Письма встроенного почтового ящика (var/mail).", no_args_is_help=True)
cli.add_typer(mail_cli, name="mail")
cli.add_typer(ops_cli, name="ops")


def _found(where: str) -> Any:
    module, attr = where.split(":")
    return getattr(import_module(module), attr)


# Commands that belong to a service live in it; the kernel names them, never imports them.
SERVICE_GROUPS = {"admin": "services.identity.cli:admin_cli"}
SERVICE_OPS = {
    "audit": "services.identity.cli:audit",
    "calendar": "services.applications.cli:calendar",
    "seed": "shared.seed:seed_command",
    "rebuild": "shared.rebuild:rebuild_command",
    "audit-application": "shared.audit:audit_application",
}
# The real stack's nginx: its configuration from the gateway's routing table, and one system's own.
SERVICE_COMMANDS = {
    "edge-config": "services.gateway.edge_config:edge_config",
    "edge": "services.gateway.edge_config:serve_edge",
}
for _name, _where in SERVICE_GROUPS.items():
    cli.add_typer(_found(_where), name=_name)
for _name, _where in SERVICE_COMMANDS.items():
    cli.command(_name)(_found(_where))
for _name, _where in SERVICE_OPS.items():
    ops_cli.command(_name)(_found(_where))

# Uvicorn would believe X-Forwarded-* from any loopback peer (every client on one host):
# the edge decides who the client is (shared/edge.py). No "server: uvicorn" either.
UVICORN_EDGE: dict[str, Any] = {"proxy_headers": False, "server_header": False}

SERVICES = tuple(SERVICE_PORTS)  # gateway first in the table; started last below
START_ORDER = ("identity", "applications", "chat", "files", "notifier", "gateway")
EDGE = "edge"  # the real stack's nginx, in front of them all (services/gateway/edge_config.py)


def build_app(service: str, settings: Settings, **extra: Any) -> FastAPI:
    module = import_module(f"services.{service}.main")
    app: FastAPI = module.create_app(settings, **extra)
    return app


def build_in_process(settings: Settings, services: tuple[str, ...]) -> dict[str, FastAPI]:
    """Every service's app for one process. The gateway gets the others' apps: it dispatches
    ``/api/v1`` to them directly (services/gateway/dispatch.py), no socket between them."""
    apps = {name: build_app(name, settings) for name in services if name != "gateway"}
    if "gateway" in services:
        apps["gateway"] = build_app("gateway", settings, in_process=dict(apps))
    return {name: apps[name] for name in services}


class QuietServer(uvicorn.Server):
    """Uvicorn's server, its housekeeping once a second instead of ten times.

    Uvicorn's ``main_loop`` wakes every 0.1 s to refresh the ``date`` header (its value
    changes once a second) and to see whether it should exit: six servers in ``lk run``
    wake the process sixty times a second doing nothing. Here the loop wakes at each turn of
    the second (the header stays exact) and at once when told to exit (``should_exit``
    set by a signal or by ``lk run``'s stop), so shutdown is no slower (decision record 29).
    """

    def __init__(self, config: uvicorn.Config) -> None:
        self._exit = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._should_exit = False
        super().__init__(config)

    @property
    def should_exit(self) -> bool:
        return self._should_exit

    @should_exit.setter
    def should_exit(self, value: bool) -> None:
        self._should_exit = value
        if value and self._loop is not None:
            # From a signal handler or another task alike: wakes the loop's wait below.
            self._loop.call_soon_threadsafe(self._exit.set)

    async def main_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        counter = 0  # a multiple of 10: every tick refreshes the date header (uvicorn's on_tick)
        while not await self.on_tick(counter):
            with suppress(TimeoutError):
                await asyncio.wait_for(self._exit.wait(), 1.0 - time.time() % 1.0)
            counter = (counter + 10) % 864000


class _Server(QuietServer):
    """Several servers share one loop in ``lk run``: the CLI handles the signals."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def service_config(
    service: str, settings: Settings, app: FastAPI | None = None, port: int | None = None
) -> uvicorn.Config:
    """How every service is served, alone (``lk serve``, on ``port``: its replica's) or
    together (``lk run``, ``app`` built by :func:`build_in_process`): its lifespan must start (a
    failure stops the process), no access log, five seconds to finish requests."""
    return uvicorn.Config(
        app or build_app(service, settings),
        host=settings.bind_host,
        port=port or settings.port_of(service),
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
        timeout_keep_alive=UPSTREAM_IDLE + 15,  # longer than nginx keeps one (edge_config)
        ws_per_message_deflate=False,
        **UVICORN_EDGE,
    )


async def announce_when_ready(
    settings: Settings, banner: str, timeout: float = 300.0, entry: str = ""
) -> None:
    """Print ``banner`` once the gateway and every service behind it are ready (asked through
    ``entry``, the public address, when given)."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=5.0) as http:
        while time.monotonic() < deadline:
            try:
                if (await http.get((entry or settings.url_of("gateway")) + "/health")).status_code == 200:
                    typer.echo(banner)
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    typer.echo("Не все сервисы ответили за 5 минут: смотрите журнал выше.", err=True)


async def _serve_all(settings: Settings, services: tuple[str, ...], banner: str = "") -> None:
    # Each app is also served on its own port (the pages' calls, direct probes, the tests).
    apps = build_in_process(settings, services)
    servers = [_Server(service_config(name, settings, app)) for name, app in apps.items()]
    loop = asyncio.get_running_loop()

    def stop() -> None:
        for server in servers:
            server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    announcer = asyncio.create_task(announce_when_ready(settings, banner)) if banner else None
    try:
        await asyncio.gather(*(server.serve() for server in servers))
    finally:
        if announcer is not None:
            announcer.cancel()


@cli.command()
def run() -> None:
    """Запустить всю систему во встроенном режиме (SQLite, встроенная шина, почта в var/mail)."""
    settings = Settings()
    if not settings.embedded:
        typer.echo("lk run — встроенный режим; для реального стека: lk run-stack", err=True)
        raise typer.Exit(2)
    configure_logging(settings.log_level, settings.log_json, "lk")
    from shared.smtp_sink import SinkProcess

    settings.var_dir.mkdir(parents=True, exist_ok=True)
    sink = SinkProcess(settings.mail_dir, settings.smtp_host, settings.smtp_port)
    sink.start()
    typer.echo(f"Запуск… Данные: {settings.var_dir.resolve()}")
    banner = (
        f"Личный кабинет ТП готов: {settings.public_url}\n"
        f"Письма (Maildir): {settings.mail_dir.resolve()}/new — последнее письмо: lk mail last\n"
        "Остановить: Ctrl-C"
    )
    try:
        asyncio.run(_serve_all(settings, START_ORDER, banner))
    finally:
        sink.stop()


@cli.command()
def serve(
    service: str = typer.Argument(..., help="identity | applications | chat | files | notifier | gateway"),
    replica: int = typer.Option(0, "--replica", help="Номер реплики (0 … LK_REPLICAS−1): её порт"),
) -> None:
    """Запустить один сервис как отдельный процесс (режим задаётся LK_MODE)."""
    if service not in SERVICES:
        typer.echo(f"Неизвестный сервис: {service}", err=True)
        raise typer.Exit(2)
    settings = Settings()
    ports = settings.ports_of(service)
    if not 0 <= replica < len(ports):
        typer.echo(f"У сервиса {service} {len(ports)} реплик(и): номер {replica} вне их", err=True)
        raise typer.Exit(2)
    configure_logging(
        settings.log_level, settings.log_json, service if replica == 0 else f"{service}#{replica}"
    )
    server = QuietServer(service_config(service, settings, port=ports[replica]))
    server.run()
    if not server.started:
        raise typer.Exit(3)  # as uvicorn.run: the app did not start (its lifespan failed)


def replica_names(settings: Settings, services: tuple[str, ...] = START_ORDER) -> list[str]:
    """The processes of the real stack, by name: ``identity`` (replica 0), ``identity#1`` …"""
    return [
        service if i == 0 else f"{service}#{i}"
        for service in services
        for i in range(settings.replicas_of(service))
    ]


def serve_command(name: str) -> list[str]:
    """``lk`` arguments of the process ``name`` (:func:`replica_names`, or ``edge``)."""
    if name == EDGE:
        return ["edge"]
    service, _, replica = name.partition("#")
    return ["serve", service, *(["--replica", replica] if replica else [])]


@cli.command("run-stack")
def run_stack() -> None:
    """Запустить каждый сервис отдельным процессом на реальном стеке (make infra-up); LK_REPLICAS
    процессов каждого сервиса, nginx распределяет запросы между ними."""
    env = {**os.environ, "LK_MODE": "stack"}
    procs: dict[str, subprocess.Popen[bytes]] = {}
    settings = Settings(mode="stack")

    def spawn(name: str) -> None:
        # nginx (`lk edge`) in a session of its own: its workers stop with their master
        procs[name] = subprocess.Popen(
            [sys.executable, "-m", "shared.cli", *serve_command(name)],
            env=env,
            start_new_session=name == EDGE,
        )

    for name in (*replica_names(settings), EDGE):
        spawn(name)
    banner = f"Личный кабинет ТП (реальный стек) готов: {settings.public_url}\nОстановить: Ctrl-C"
    threading.Thread(
        target=asyncio.run,
        args=(announce_when_ready(settings, banner, entry=settings.public_url),),
        daemon=True,
    ).start()
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping:
        time.sleep(0.5)
        for name, proc in list(procs.items()):
            if proc.poll() is not None and not stopping:
                typer.echo(f"{name}: процесс завершился (код {proc.returncode}), перезапуск", err=True)
                time.sleep(1)
                spawn(name)
    for proc in procs.values():
        proc.terminate()  # nginx: a fast shutdown, its workers with it
    for name, proc in procs.items():
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            if name == EDGE:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.kill()


@mail_cli.command("last")
def mail_last(count: int = typer.Option(1, help="Сколько последних писем показать")) -> None:
    """Показать последние письма встроенного почтового ящика."""
    from shared.smtp_sink import read_maildir

    settings = Settings()
    for message in read_maildir(settings.mail_dir)[-count:]:
        body = message.get_body(preferencelist=("plain",))
        typer.echo(
            f"Кому: {message['To']}\nТема: {message['Subject']}\n\n{body.get_content() if body else ''}"
        )
        typer.echo("-" * 60)


@mail_cli.command("stats")
def mail_stats_command() -> None:
    """Сколько писем принято и сколько повторов (тот же Message-ID) отброшено получателем."""
    settings = Settings()
    if settings.embedded:
        from shared.smtp_sink import mail_stats

        stats = mail_stats(settings.mail_dir)
    else:
        runtime = httpx.get(settings.mailpit_api + "/api/v1/info", timeout=10).json()["RuntimeStats"]
        stats = {"kept": int(runtime["SMTPAccepted"]), "dropped_duplicates": int(runtime["SMTPIgnored"])}
    typer.echo(json.dumps(stats, ensure_ascii=False))


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
