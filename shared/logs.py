"""Structured logs (structlog): key=value lines by default, JSON with ``LK_LOG_JSON=1``.

Repeated warnings and errors are logged with backoff: while the same one (same logger,
same event) keeps coming, it is written once, then again after 1 s, 2 s, 4 s … (at most a
minute apart), each time with ``repeated=<how many were held back>``. An outage of a
dependency then costs a few lines a minute, not tens of thousands.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, MutableMapping
from typing import Any

import structlog

WHO = ("relay", "consumer", "worker", "service")
NOISY = ("aiokafka", "kafka", "uvicorn.access", "aiosqlite", "mail.log", "httpx", "httpcore")


class Repeats:
    """Decides, per key, whether a repeated message is written now (thread-safe)."""

    def __init__(
        self, first: float = 1.0, longest: float = 60.0, clock: Callable[[], float] = time.monotonic
    ):
        self.first = first
        self.longest = longest
        self.clock = clock
        self._state: dict[tuple[str, str], tuple[float, float, int]] = {}  # key → (next at, gap, held)
        self._lock = threading.Lock()

    def admit(self, key: tuple[str, str]) -> int | None:
        """None to hold the message back; else how many were held back before it."""
        now = self.clock()
        with self._lock:
            state = self._state.get(key)
            if state is None or now >= state[0] + self.longest:
                self._state[key] = (now + self.first, self.first, 0)  # new, or quiet for long
                return 0
            due, gap, held = state
            if now < due:
                self._state[key] = (due, gap, held + 1)
                return None
            gap = min(gap * 2, self.longest)
            self._state[key] = (now + gap, gap, 0)
            return held


class _RepeatFilter(logging.Filter):
    """For the standard library's loggers (aiokafka, uvicorn …)."""

    def __init__(self, repeats: Repeats) -> None:
        super().__init__()
        self.repeats = repeats

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        held = self.repeats.admit((record.name, str(record.msg)))
        if held is None:
            return False
        if held:
            record.msg = f"{record.msg} (repeated {held} more times)"
        return True


def repeat_processor(repeats: Repeats) -> structlog.types.Processor:
    """A structlog processor doing the same for the platform's own events."""

    def process(logger: Any, method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        if method not in ("warning", "error", "exception", "critical"):
            return event
        # The same event of another relay, consumer or worker is another message.
        who = next((str(event[k]) for k in WHO if k in event), "")
        held = repeats.admit((who, str(event.get("event", ""))))
        if held is None:
            raise structlog.DropEvent
        if held:
            event["repeated"] = held
        return event

    return process


def configure_logging(level: str = "INFO", json: bool = False, service: str = "") -> None:
    """Configure structlog and the standard library for one process."""
    logging.basicConfig(level=level, format="%(message)s")
    repeats = Repeats()
    for handler in logging.getLogger().handlers:
        handler.addFilter(_RepeatFilter(repeats))
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    processors: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        repeat_processor(repeats),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
    ]
    if service:
        structlog.contextvars.bind_contextvars(service=service)
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[*processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        cache_logger_on_first_use=True,
    )
