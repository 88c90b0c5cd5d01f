"""Identity service process: API, outbox relay, the account-directory projection, the worker
that serves resend and reset requests and the purge of old attempt counters (shared/service.py).
It checks tokens against its own aggregates, so it keeps no session registry."""

from __future__ import annotations

from fastapi import FastAPI

from services.identity.api import ROUTERS
from services.identity.app import IdentityApp
from services.identity.mail_requests import MailRequests
from services.identity.projections import AccountDirectory, Directory
from services.identity.public import make_mapper
from services.identity.state import IdentityState
from services.identity.throttle import Throttle
from shared.service import Runtime, Service, create_service_app, events_of
from shared.settings import Settings


async def build(runtime: Runtime) -> IdentityState:
    identity, settings = events_of(runtime, IdentityApp), runtime.settings
    runtime.consume(AccountDirectory())
    throttle = Throttle(runtime.store, settings)
    await throttle.setup()
    mail = MailRequests(identity, throttle, settings.mail_queue_max)
    runtime.start("mail_requests", mail.run)
    runtime.start("counters_purge", throttle.purge_loop)
    # Requests still queued when the process stops are worked off before the workers stop.
    runtime.on_stopping(lambda: mail.drain(timeout=5.0))
    return IdentityState(identity, throttle, mail, Directory(runtime.store), settings)


SERVICE = Service("identity", build, ROUTERS, application=IdentityApp, mapper=make_mapper, auth=False)


def create_app(settings: Settings) -> FastAPI:
    return create_service_app(SERVICE, settings)
