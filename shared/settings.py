"""Typed settings for every process, read from ``LK_*`` environment variables.

One switch, ``LK_MODE``, chooses between the embedded default (SQLite files, the
embedded transport and the embedded SMTP sink under ``var/``) and the real stack
(PostgreSQL, Apache Kafka, an S3 server and Mailpit).
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.schemas import schema_of

Mode = Literal["embedded", "stack"]

SERVICE_PORTS = {
    "gateway": 8000,
    "identity": 8101,
    "applications": 8102,
    "chat": 8103,
    "files": 8104,
    "notifier": 8105,
}
STACK_GATEWAY_PORT = 8100  # the gateway behind nginx on the real stack
REPLICA_PORT_STEP = 10  # replica i of a service listens on its port + 10·i (8101, 8111, 8121 …)


class Settings(BaseSettings):
    """All configuration of the platform; every field maps to ``LK_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="LK_", extra="ignore")

    mode: Mode = "embedded"
    var_dir: Path = Path("var")
    # Address the services listen on and reach each other by (one machine).
    host: str = "127.0.0.1"
    # Containers: listen on every interface, reach others by name (docker-compose.yml).
    bind_host: str = ""
    service_urls: dict[str, str] = {}
    # Ports of the processes; gateway is the only public one.
    gateway_port: int = SERVICE_PORTS["gateway"]
    identity_port: int = SERVICE_PORTS["identity"]
    applications_port: int = SERVICE_PORTS["applications"]
    chat_port: int = SERVICE_PORTS["chat"]
    files_port: int = SERVICE_PORTS["files"]
    notifier_port: int = SERVICE_PORTS["notifier"]
    # The real stack's public entry: nginx (deploy/nginx.sh) on bind_host:edge_port, in front
    # of the services and the gateway (which then listens on STACK_GATEWAY_PORT unless
    # LK_GATEWAY_PORT says otherwise). Each system runs its own nginx under var/edge.
    edge_port: int = 8000
    nginx_bin: str = "nginx"
    # The real stack: processes per service (``lk run-stack``, ``make run-stack REPLICAS=N``),
    # chat's included. Replica i listens on the service's port + 10·i unless
    # ``replica_ports`` names every replica's port of a service (the tests' free ports).
    replicas: int = 1
    replica_ports: dict[str, list[int]] = {}
    # Address a person uses to reach the cabinet; e-mailed links start with it.
    public_url: str = ""
    secret_key: str = ""
    # Proxies in front of the gateway (a TLS terminator) whose X-Forwarded-For/-Proto are
    # believed: addresses or networks, e.g. ["10.0.0.5"]. Empty: the peer is the client.
    trusted_proxies: list[str] = []

    # Real stack.
    kafka_bootstrap: str = "127.0.0.1:9092"
    topic_prefix: str = ""
    kafka_partitions: int = 3
    postgres_dsn: str = "postgresql://lk:lk@127.0.0.1:5432/lk"
    mailpit_api: str = "http://127.0.0.1:8025"
    s3_endpoint: str = "127.0.0.1:7070"
    s3_access_key: str = "lkaccess"
    s3_secret_key: str = "lksecretkey123"
    s3_bucket: str = "lk-files"
    s3_secure: bool = False

    # Files.
    max_upload_bytes: int = 25 * 1024 * 1024

    # E-mail. Embedded default: a sink started by ``lk run`` on this port.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 0
    smtp_timeout: float = 10.0
    smtp_connections: int = 3  # the notifier's pool of SMTP connections, each reused message after message
    mail_from: str = "Личный кабинет ТП <noreply@lk-tp.local>"
    mail_retry_initial: float = 1.0
    mail_retry_max: float = 60.0
    # The staff desk's address: e-mail about applicants' unread chat messages and documents
    # they sent on request (nothing is mailed to staff when empty).
    staff_mail: str = ""
    # A chat message unread for chat_mail_delay seconds is e-mailed to its recipient side, at
    # most once per thread and side per chat_mail_interval seconds.
    chat_mail_delay: float = 600.0
    chat_mail_interval: float = 3600.0
    # Each chat process follows what the others commit to the chat's event store, and hears their
    # typing and presence (services/chat/follow.py, live.py). Unset: on the real stack (where
    # replicas run), not on the embedded default (one process).
    chat_follow: bool | None = None
    # The deadline watcher of the applications service (issue 12): a pass every
    # deadline_watch_interval seconds reminds applicants deadline_remind_days working days
    # before their deadline, mails staff_mail when the grid company's deadline is overdue, and
    # annuls an application whose requested documents or invoice payment did not come in time
    # (each switchable). deadline_watch_movable lets staff run a pass at a given moment
    # (``POST /api/v1/deadline-watch``): for tests and drills, never in production.
    deadline_watcher: bool = True
    # `lk ops seed` writes test data into the event stores: only where this says so (tests, benchmarks).
    allow_seed: bool = False
    deadline_watch_interval: float = 300.0
    deadline_remind_days: int = 2
    auto_annul_documents: bool = True
    auto_annul_unpaid: bool = True
    deadline_watch_movable: bool = False

    # Identity.
    access_token_ttl: int = 8 * 3600
    confirmation_ttl: int = 48 * 3600
    reset_ttl: int = 3600
    # Login throttling: failures allowed per window, per login and per client address.
    login_window: int = 15 * 60
    login_max_failures: int = 5
    login_max_failures_per_ip: int = 30
    session_cookie: str = "lk_session"
    cookie_secure: bool = False
    # A login is never locked across addresses: past login_max_failures failures in the
    # window each attempt waits, twice as long after each further failure, up to this.
    login_delay_max: float = 3.0
    # Per window (seconds): e-mails on request (resend confirmation, password reset) per
    # e-mail address and per client address, past which requests are dropped silently;
    # registrations per client address, past which the answer is 429.
    mail_window: int = 3600
    mail_per_address_max: int = 5
    mail_per_client_max: int = 20
    register_per_client_max: int = 20
    # Resend and reset requests waiting for identity's background worker (more are dropped).
    mail_queue_max: int = 1000

    # Workers.
    # Longest wait for a database connection or statement before a request answers 503.
    db_timeout: float = 5.0
    poll_interval: float = 0.02
    # A poller that finds nothing waits twice as long each time, up to this (seconds); work
    # in the same process wakes it at once (shared/backoff.py).
    idle_poll_max: float = 1.0
    # A poller that every write it must see wakes (in the process, or PostgreSQL's NOTIFY on
    # commit for the relay on the stack) still looks this often (seconds), for safety: what a
    # lost notification would hold back (decision record 29).
    fallback_poll: float = 10.0
    batch_size: int = 500
    # A consumer's event that fails this many times alone (waiting dead_letter_retry seconds
    # after the first failure, twice as long after each next, at most 5 s) is parked as a dead
    # letter and the projection goes on (shared/deadletters.py).
    dead_letter_attempts: int = 5
    dead_letter_retry: float = 0.2
    max_body_bytes: int = 64 * 1024
    log_level: str = "INFO"
    log_json: bool = False

    # The grid company that runs the cabinet: every time shown (pages, e-mails, chat) is in
    # its time zone (an IANA name, via zoneinfo); its name, phone and address appear in the
    # pages' footer, the e-mails and the generated forms.
    time_zone: str = "Europe/Moscow"
    company_name: str = "АО «Региональная сетевая компания»"
    company_phone: str = "8 800 000-00-00"
    company_address: str = "123456, г. Москва, ул. Энергетиков, д. 1"
    # The region whose fee schedule (services/applications/fees.json) the calculator and the
    # staff's offer start from (``LK_REGION``: the subject's code, "16" is Tatarstan).
    region: str = "16"

    # The payee of the invoices (the grid company's bank details, ``LK_PAYEE_*``), in the
    # payment QR code of ГОСТ Р 56042-2014 too. EXAMPLES ONLY: these defaults are no real
    # company's or bank's; an invoice made with the example account is marked «образец».
    # The name defaults to ``LK_COMPANY_NAME``; VAT 0 prints «Без НДС».
    payee_name: str = ""
    payee_inn: str = "7700000000"
    payee_kpp: str = "770001001"
    payee_account: str = "40702810600000000001"
    payee_bank: str = "ПАО «Пример-Банк»"
    payee_bic: str = "044525999"
    payee_corr_account: str = "30101810600000000999"
    payee_vat_percent: int = 22

    # The simple electronic signature (ПЭП): a one-time e-mail code lives this many seconds,
    # and a new code for the same application may be asked for once per interval.
    signature_code_ttl: int = 15 * 60
    signature_code_interval: int = 60

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        stack_edge = self.mode == "stack"
        if stack_edge and "gateway_port" not in self.model_fields_set and self.gateway_port == self.edge_port:
            self.gateway_port = STACK_GATEWAY_PORT  # nginx takes the public port
        if not self.public_url:
            port = self.edge_port if stack_edge else self.gateway_port
            self.public_url = f"http://{self.host}:{port}"
        if not self.bind_host:
            self.bind_host = self.host
        if not self.smtp_port:
            self.smtp_port = 2525 if self.mode == "embedded" else 1025
        return self

    # Derived values -------------------------------------------------------------
    @property
    def embedded(self) -> bool:
        return self.mode == "embedded"

    @property
    def edge_dir(self) -> Path:
        """Where this system's nginx keeps its configuration, logs and pid file."""
        return self.var_dir / "edge"

    @property
    def mail_dir(self) -> Path:
        return self.var_dir / "mail"

    def service_dir(self, service: str) -> Path:
        path = self.var_dir / service
        path.mkdir(parents=True, exist_ok=True)
        return path

    def port_of(self, service: str) -> int:
        return int(getattr(self, f"{service}_port"))

    def replicas_of(self, service: str) -> int:
        """How many processes of ``service`` the real stack runs (every service, chat included)."""
        return 1 if self.embedded else max(1, self.replicas)

    def ports_of(self, service: str) -> list[int]:
        """The port of each replica of ``service``, replica 0 first (its ``port_of``)."""
        count = self.replicas_of(service)
        named = self.replica_ports.get(service)
        if named:
            if len(named) < count:
                raise ValueError(f"LK_REPLICA_PORTS names {len(named)} ports of {service}, not {count}")
            return list(named[:count])
        return [self.port_of(service) + REPLICA_PORT_STEP * i for i in range(count)]

    def url_of(self, service: str) -> str:
        return self.service_urls.get(service) or f"http://{self.host}:{self.port_of(service)}"

    def urls_of(self, service: str) -> list[str]:
        """The address of each replica of ``service``, replica 0 first; one when the service
        is reached by name (containers: ``LK_SERVICE_URLS``, the name resolves to every one)."""
        if service in self.service_urls:
            return [self.service_urls[service]]
        return [f"http://{self.host}:{port}" for port in self.ports_of(service)]

    def topic(self, service: str) -> str:
        return f"{self.topic_prefix}{service}.events"

    def secret(self) -> str:
        """The signing key; on first use a random one is kept in ``var/secret.key``.

        Created atomically (temp file, then a hard link that fails if another process won
        the race), so concurrent starts agree on one key and never read a half-written one.
        """
        if self.secret_key:
            return self.secret_key
        path = self.var_dir / "secret.key"
        if not path.exists():
            self.var_dir.mkdir(parents=True, exist_ok=True)
            tmp = self.var_dir / f".secret.{os.getpid()}.{secrets.token_hex(4)}"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another process created it first: use theirs
            finally:
                tmp.unlink()
        key = path.read_text().strip()
        if len(key) < 32:
            raise RuntimeError(f"{path} holds no usable key (shorter than 32 characters)")
        self.secret_key = key
        return key

    def eventstore_env(self, service: str) -> dict[str, str]:
        """Environment for the service's ``eventsourcing`` Application."""
        if self.embedded:
            return {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(self.service_dir(service) / "events.sqlite"),
                "SQLITE_LOCK_TIMEOUT": "10",
            }
        dsn = urlsplit(self.postgres_dsn)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": dsn.path.lstrip("/"),
            "POSTGRES_HOST": dsn.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(dsn.port or 5432),
            "POSTGRES_USER": dsn.username or "",
            "POSTGRES_PASSWORD": dsn.password or "",
            "POSTGRES_POOL_SIZE": "10",
            "POSTGRES_MAX_OVERFLOW": "10",
            "POSTGRES_LOCK_TIMEOUT": "5",
            # Waiting for a connection (the server down or every connection busy) is bounded:
            # a command then fails in seconds with 503 instead of hanging for half a minute.
            "POSTGRES_CONNECT_TIMEOUT": str(int(self.db_timeout)),
            "POSTGRES_PRE_PING": "y",  # connections broken by a restart are replaced, not used
            # The service's own schema (shared/schemas.py), as its read store's.
            "POSTGRES_SCHEMA": schema_of(service),
        }


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached; tests build their own ``Settings``)."""
    return Settings()
