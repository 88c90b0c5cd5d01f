"""Notifier process: consumes public events into the mail outbox and sends e-mail."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.notifier.chat_mail import start_chat_mail
from services.notifier.mailer import SmtpMailer
from services.notifier.outbox import MailOutbox, Sender
from shared.consumer import ConsumerRunner
from shared.http import add_health
from shared.readstore import build_readstore
from shared.runtime import Workers, dependencies, service_app
from shared.settings import Settings
from shared.transport import build_transport

SERVICE = "notifier"


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = build_readstore(settings, SERVICE)
        await store.open()
        transport = build_transport(settings)
        await transport.start()
        mailer = SmtpMailer(settings.smtp_host, settings.smtp_port, settings.mail_from, settings.smtp_timeout)
        sender = Sender(store, mailer, settings.mail_retry_initial, settings.mail_retry_max)
        outbox = MailOutbox(
            (settings.topic("identity"), settings.topic("applications")),
            settings.public_url,
            settings.staff_mail,
        )
        runner = ConsumerRunner(outbox, transport, store, on_applied=sender.wake)
        await runner.setup()
        workers = Workers()
        workers.start("notifier.outbox", runner.run)
        workers.start("notifier.sender", sender.run)
        await start_chat_mail(settings, store, transport, workers, sender.wake)
        app.state.store = store
        app.state.dependencies = dependencies(store=store, transport=transport)
        try:
            yield
        finally:
            await workers.stop()
            await transport.stop()
            await store.close()

    app = service_app(SERVICE, settings, lifespan)

    async def check() -> dict[str, object]:
        pending = await app.state.store.fetchval(
            "SELECT COUNT(*) FROM notifier_outbox WHERE status = 'pending'"
        )
        return {"pending_mail": int(pending or 0)}

    add_health(app, SERVICE, check)
    return app
