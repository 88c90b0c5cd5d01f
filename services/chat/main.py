"""The chat service process (its domain arrives with its own issue; see README)."""

from __future__ import annotations

from fastapi import FastAPI

from shared.placeholder import placeholder_app
from shared.settings import Settings


def create_app(settings: Settings) -> FastAPI:
    return placeholder_app("chat", settings)
