"""What every benchmark shares: isolated infrastructure, figures with targets, progress lines."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import os
import secrets
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

from services.identity.domain import Account
from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "var" / "bench" / "results.json"
SECRET = "bench-secret-" + "x" * 32

_password_hash: str | None = None


def password_hash() -> str:
    """One real argon2 hash, computed once: commits in the benchmarks pay no hashing cost."""
    global _password_hash
    if _password_hash is None:
        from services.identity.passwords import hash_password

        _password_hash = hash_password("Корова-на-луне-2026!")
    return _password_hash


@functools.cache
def _account_params() -> frozenset[str]:
    return frozenset(inspect.signature(Account.__init__).parameters)


def new_account(tag: str, i: int) -> Account:
    """A fresh consumer account (one ``Account.Registered`` event), as ``register`` builds it."""
    fields: dict[str, Any] = {
        "login": f"b{tag}_{i}",
        "email": f"b{tag}_{i}@bench.example",
        "password_hash": password_hash(),
        "account_type": "consumer",
        "confirmation_nonce": secrets.token_hex(16),
        "confirmation_expires_at": datetime.now(UTC) + timedelta(hours=48),
    }
    # Newer revisions of the aggregate also record roles and an audit trail.
    optional = {
        "roles": ["consumer"],
        "audit": {"actor": "self", "ip": "127.0.0.1", "user_agent": "lk-bench"},
    }
    fields.update({k: v for k, v in optional.items() if k in _account_params()})
    return Account(**fields)


def base_dsn() -> str:
    return os.environ.get("LK_POSTGRES_DSN", "postgresql://lk:lk@127.0.0.1:5432/lk")


def kafka_bootstrap() -> str:
    return os.environ.get("LK_KAFKA_BOOTSTRAP", "127.0.0.1:9092")


def tag() -> str:
    return uuid.uuid4().hex[:8]


# figures ----------------------------------------------------------------------------
@dataclass
class Figure:
    """One measured value and its target; ``better`` is "lower" or "higher" (or "" for no target)."""

    label: str
    value: float | None
    unit: str
    target: float | None = None
    better: str = ""

    @property
    def met(self) -> bool | None:
        if self.target is None or self.value is None:
            return None
        return self.value <= self.target if self.better == "lower" else self.value >= self.target

    def line(self) -> str:
        value = "n/a" if self.value is None else fmt(self.value)
        text = f"  {self.label:<44} {value:>10} {self.unit:<8}"
        if self.target is not None:
            sign = "≤" if self.better == "lower" else "≥"
            verdict = {True: "ok", False: "MISSED", None: "n/a"}[self.met]
            text += f" target {sign} {fmt(self.target)} {self.unit:<8} {verdict}"
        return text.rstrip()

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": self.value, "unit": self.unit}
        if self.target is not None:
            out.update(target=self.target, better=self.better, met=self.met)
        return out


def fmt(value: float) -> str:
    if isinstance(value, int) or value >= 1000:
        return f"{value:,.0f}".replace(",", " ")
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if 0 < value < 0.1:
        return f"{value:.3f}"  # idle CPU in cores: 0.004 and 0.012 are not both "0.01"
    return f"{value:.2f}"


@dataclass
class Section:
    """Figures of one measured case (e.g. "latency / embedded"), printed as they come."""

    title: str
    figures: dict[str, Figure] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        out(f"\n{self.title}")

    def add(self, key: str, figure: Figure) -> Figure:
        self.figures[key] = figure
        out(figure.line())
        return figure

    def note(self, text: str) -> None:
        self.notes.append(text)
        out(f"  · {text}")

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {key: f.as_json() for key, f in self.figures.items()}
        if self.notes:
            data["notes"] = self.notes
        return data


def out(text: str) -> None:
    Progress.clear()
    print(text, flush=True)


def percentile(values: list[float], p: float) -> float | None:
    """Linear-interpolated percentile (p in 0..100)."""
    if not values:
        return None
    data = sorted(values)
    k = (len(data) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (k - lo)


class Progress:
    """One self-overwriting status line on a terminal; a line every few seconds otherwise."""

    _shown = False
    tty = sys.stdout.isatty()

    def __init__(self, label: str, total: int | None = None, every: float = 5.0) -> None:
        self.label = label
        self.total = total
        self.every = every
        self._last = 0.0

    def update(self, done: int, extra: str = "") -> None:
        now = time.monotonic()
        if now - self._last < (0.2 if self.tty else self.every):
            return
        self._last = now
        text = (
            f"  … {self.label}: {done}"
            + (f"/{self.total}" if self.total else "")
            + (f" {extra}" if extra else "")
        )
        if self.tty:
            sys.stdout.write("\r\x1b[2K" + text)
            sys.stdout.flush()
            Progress._shown = True
        else:
            print(text, flush=True)

    @classmethod
    def clear(cls) -> None:
        if cls._shown:
            sys.stdout.write("\r\x1b[2K")
            sys.stdout.flush()
            cls._shown = False


# isolated infrastructure ----------------------------------------------------------------
class Infra:
    """Temporary directories, databases and Kafka topics of one bench run; all removed at the end."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="lk-bench-"))
        self.databases: list[str] = []
        self.topic_prefixes: list[str] = []
        self.cleanups: list[Callable[[], None]] = []
        self.shared: dict[str, Any] = {}  # results one benchmark leaves for another

    def tmpdir(self, name: str) -> Path:
        path = self.root / f"{name}-{tag()}"
        path.mkdir(parents=True)
        return path

    def database(self, name: str) -> str:
        """A fresh PostgreSQL database; returns its DSN."""
        db = f"lk_bench_{name}_{tag()}"
        with psycopg.connect(base_dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{db}"')
        self.databases.append(db)
        return urlunsplit(urlsplit(base_dsn())._replace(path=f"/{db}"))

    def drop_database(self, dsn: str) -> None:
        db = urlsplit(dsn).path.lstrip("/")
        with psycopg.connect(base_dsn(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        if db in self.databases:
            self.databases.remove(db)

    def topic_prefix(self, name: str) -> str:
        prefix = f"bench-{name}-{tag()}."
        self.topic_prefixes.append(prefix)
        return prefix

    def settings(self, mode: str, name: str, **extra: Any) -> Settings:
        """Settings of one isolated case: embedded → a tmp dir; stack → a fresh database and topics."""
        values: dict[str, Any] = {
            "mode": mode,
            "var_dir": self.tmpdir(name),
            "secret_key": SECRET,
            "log_level": "WARNING",
            "topic_prefix": self.topic_prefix(name),
        }
        if mode == "stack":
            values.update(postgres_dsn=self.database(name), kafka_bootstrap=kafka_bootstrap())
        return Settings(**{**values, **extra})

    def close(self) -> None:
        for cleanup in reversed(self.cleanups):
            with contextlib.suppress(Exception):
                cleanup()
        for db in list(self.databases):
            with contextlib.suppress(Exception), psycopg.connect(base_dsn(), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        if self.topic_prefixes:
            with contextlib.suppress(Exception):
                asyncio.run(_delete_topics(tuple(self.topic_prefixes)))
        shutil.rmtree(self.root, ignore_errors=True)


async def _delete_topics(prefixes: tuple[str, ...]) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap(), request_timeout_ms=10000)
    await admin.start()
    try:
        topics = [t for t in await admin.list_topics() if t.startswith(prefixes)]
        if topics:
            await admin.delete_topics(topics)
    finally:
        await admin.close()
