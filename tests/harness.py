"""Runs the real system as separate processes for end-to-end tests, in either mode.

The same test body runs against both: ``System.mode`` is "embedded" (one ``lk run``
process, SQLite, embedded transport, Maildir sink) or "stack" (one ``lk serve``
process per service on real PostgreSQL, Kafka and Mailpit, isolated by a fresh
database and a topic prefix per system, behind the system's own nginx — ``lk edge``,
component "edge" — which is the public entry, as with ``lk run-stack``). A stack system may
run several replicas of every service (``replicas``, as ``LK_REPLICAS``): replica 0 is the
component named after its service, the others ``<service>#<i>``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg

from shared.cli import replica_names, serve_command
from shared.settings import Settings
from shared.smtp_sink import read_maildir

ROOT = Path(__file__).resolve().parents[1]
STACK_ORDER = ("identity", "applications", "chat", "files", "notifier", "gateway", "edge")
EDGE = "edge"  # nginx: a master and its workers, in a process group of their own


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str
    message_id: str


class Mailbox:
    """Reads what the system sent: Maildir (embedded) or Mailpit's HTTP API (stack)."""

    def __init__(self, maildir: Path | None = None, mailpit: str | None = None) -> None:
        self.maildir = maildir
        self.mailpit = mailpit

    def messages_to(self, address: str) -> list[Mail]:
        if self.maildir is not None:
            return [
                self._from_email(m)
                for m in read_maildir(self.maildir)
                if address.lower() in str(m["To"]).lower()
            ]
        assert self.mailpit is not None
        found = httpx.get(
            f"{self.mailpit}/api/v1/search", params={"query": f'to:"{address}"', "limit": 500}
        ).json()
        mails = []
        for summary in found.get("messages") or []:
            full = httpx.get(f"{self.mailpit}/api/v1/message/{summary['ID']}").json()
            mails.append(
                Mail(
                    to=", ".join(t["Address"] for t in full["To"]),
                    subject=full["Subject"],
                    text=full["Text"],
                    html=full["HTML"],
                    message_id=full["MessageID"],
                )
            )
        return mails

    def dropped(self) -> int:
        """Duplicates the receiver dropped (same Message-ID): the embedded sink's count, or
        Mailpit's for the whole server (a test compares it before and after itself)."""
        if self.maildir is not None:
            from shared.smtp_sink import dropped_count

            return dropped_count(self.maildir)
        assert self.mailpit is not None
        return int(httpx.get(f"{self.mailpit}/api/v1/info").json()["RuntimeStats"]["SMTPIgnored"])

    def wait_for(self, address: str, count: int = 1, timeout: float = 30.0) -> list[Mail]:
        deadline = time.monotonic() + timeout
        while True:
            mails = self.messages_to(address)
            if len(mails) >= count or time.monotonic() > deadline:
                return mails
            time.sleep(0.2)

    @staticmethod
    def _from_email(message: EmailMessage) -> Mail:
        text = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        return Mail(
            to=str(message["To"]),
            subject=str(message["Subject"]),
            text=text.get_content() if text else "",
            html=html.get_content() if html else "",
            message_id=str(message["Message-ID"]).strip("<>"),
        )


@dataclass
class System:
    mode: str
    root: Path
    env: dict[str, str] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    database: str | None = None

    @classmethod
    def create(cls, mode: str, root: Path, replicas: int = 1) -> System:
        root.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "LK_MODE": mode,
            "LK_VAR_DIR": str(root / "var"),
            "LK_SECRET_KEY": uuid.uuid4().hex,
            "LK_LOG_LEVEL": "INFO",
            "LK_MAIL_RETRY_INITIAL": "0.5",
            "LK_MAIL_RETRY_MAX": "2",
            "LK_CHAT_MAIL_DELAY": "3",
            "LK_STAFF_MAIL": "chat-desk@grid.example.ru",
            # Every test's client is 127.0.0.1: room for the whole suite's registrations and
            # e-mail requests (the tests of these limits start systems with small ones).
            "LK_REGISTER_PER_CLIENT_MAX": "100000",
            "LK_MAIL_PER_CLIENT_MAX": "100000",
        }
        for service in STACK_ORDER:
            env[f"LK_{service.upper()}_PORT"] = str(free_port())
        if mode == "stack" and replicas > 1:
            env["LK_REPLICAS"] = str(replicas)
            ports = {s: [int(env[f"LK_{s.upper()}_PORT"])] for s in STACK_ORDER if s != EDGE}
            for found in ports.values():
                found.extend(free_port() for _ in range(replicas - 1))
            env["LK_REPLICA_PORTS"] = json.dumps(ports)
        entry = "LK_GATEWAY_PORT" if mode == "embedded" else "LK_EDGE_PORT"
        env["LK_PUBLIC_URL"] = f"http://127.0.0.1:{env[entry]}"
        system = cls(mode=mode, root=root, env=env)
        if mode == "embedded":
            env["LK_SMTP_PORT"] = str(free_port())
        else:
            tag = "t" + uuid.uuid4().hex[:10]
            env["LK_TOPIC_PREFIX"] = f"{tag}."
            system.database = f"lk_{tag}"
            base = os.environ.get("LK_POSTGRES_DSN", "postgresql://lk:lk@127.0.0.1:5432/lk")
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{system.database}"')
            parts = urlsplit(base)
            env["LK_POSTGRES_DSN"] = urlunsplit(parts._replace(path=f"/{system.database}"))
        return system

    # settings and endpoints ---------------------------------------------------
    @property
    def settings(self) -> Settings:
        values: dict[str, object] = {k[3:].lower(): v for k, v in self.env.items() if k.startswith("LK_")}
        if "replica_ports" in values:  # JSON in the environment, as pydantic reads it from there
            values["replica_ports"] = json.loads(str(values["replica_ports"]))
        return Settings(**values)  # type: ignore[arg-type]

    @property
    def base_url(self) -> str:
        return self.env["LK_PUBLIC_URL"]

    @property
    def mailbox(self) -> Mailbox:
        if self.mode == "embedded":
            return Mailbox(maildir=self.root / "var" / "mail")
        return Mailbox(mailpit=os.environ.get("LK_MAILPIT_API", "http://127.0.0.1:8025"))

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=30.0)

    # processes ------------------------------------------------------------------
    def components(self) -> tuple[str, ...]:
        if self.mode == "embedded":
            return ("all",)
        return (*replica_names(self.settings, STACK_ORDER[:-1]), EDGE)

    def url_of(self, component: str) -> str:
        """The address of one process of the stack (``identity``, ``identity#1`` …)."""
        service, _, replica = component.partition("#")
        return f"http://127.0.0.1:{self.settings.ports_of(service)[int(replica or 0)]}"

    def host_of(self, component: str) -> str:
        """The process that runs ``component`` (in embedded mode, everything is one)."""
        return "all" if self.mode == "embedded" else component

    def start(self, component: str | None = None) -> None:
        for name in [component] if component else self.components():
            args = ["run"] if name == "all" else serve_command(name)
            log = open(self.root / f"{name}.log", "ab")  # noqa: SIM115 - kept open for the child
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", "shared.cli", *args],
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=log,
                start_new_session=name == EDGE,
            )
        self.wait_healthy()

    def wait_healthy(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}: {self.log_tail(name)}")
            try:
                if httpx.get(self.base_url + "/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"system not healthy in {timeout}s")

    def kill(self, component: str) -> None:
        """SIGKILL: no shutdown hooks run, as in a crash."""
        name = self.host_of(component)
        proc = self.procs.pop(name)
        if name == EDGE:  # the master and its workers, as if the machine lost them
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.terminate()  # nginx: a fast shutdown, its workers with it
        for name, proc in self.procs.items():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                if name == EDGE:
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.kill()
        self.procs.clear()

    def destroy(self) -> None:
        self.stop()
        if self.database:
            base = os.environ.get("LK_POSTGRES_DSN", "postgresql://lk:lk@127.0.0.1:5432/lk")
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.root / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""
