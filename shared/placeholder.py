"""A service whose domain is not built yet: it runs, answers ``/health`` and nothing else.

Used by applications, chat and files until their issues land, so that every process of
the design card already exists in both run modes and in docker-compose.yml.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from shared.http import add_health
from shared.runtime import service_app
from shared.settings import Settings


def placeholder_app(service: str, settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield

    app = service_app(service, settings, lifespan)
    add_health(app, service)
    return app
