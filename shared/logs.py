"""Structured logs (structlog): key=value lines by default, JSON with ``LK_LOG_JSON=1``."""

from __future__ import annotations

import logging

import structlog


def configure_logging(level: str = "INFO", json: bool = False, service: str = "") -> None:
    """Configure structlog and the standard library for one process."""
    logging.basicConfig(level=level, format="%(message)s")
    for noisy in ("aiokafka", "kafka", "uvicorn.access", "aiosqlite", "mail.log", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    processors: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
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
