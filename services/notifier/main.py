"""Notifier process (shared/service.py): public events into the mail outbox and the chat
mail, and the sender that delivers them. It serves no one: no API, no tokens to check."""

from __future__ import annotations

import functools

from fastapi import FastAPI

from services.notifier.chat_mail import CHAT_MAIL_DDL, ChatMailConfig, ChatMailProjection, references
from services.notifier.chat_schedule import ChatMailScheduler
from services.notifier.deadline_mail import DeadlineMail
from services.notifier.mailer import SmtpMailer
from services.notifier.outbox import OUTBOX_DDL, Sender
from services.notifier.process_mail import ProcessMailOutbox
from services.notifier.signature_mail import SignatureMail
from services.notifier.state import NotifierState
from services.notifier.termination_mail import TerminationMail
from shared.references import Lookup
from shared.service import Runtime, Service, create_service_app
from shared.settings import Settings


async def build(runtime: Runtime) -> NotifierState:
    s, store, config = runtime.settings, runtime.store, ChatMailConfig.from_settings(runtime.settings)
    refs = references()
    await store.migrate([*OUTBOX_DDL, *CHAT_MAIL_DDL, *refs.ddl])  # the loops' tables, before they run
    mailer = SmtpMailer(s.smtp_host, s.smtp_port, s.mail_from, s.smtp_timeout, s.smtp_connections)
    sender = Sender(store, mailer, s.mail_retry_initial, s.mail_retry_max)
    runtime.consume(ProcessMailOutbox(s.public_url, s.staff_mail), on_applied=sender.wake)
    runtime.consume(DeadlineMail(s.public_url, s.staff_mail), on_applied=sender.wake)
    runtime.consume(TerminationMail(s.public_url, s.staff_mail), on_applied=sender.wake)
    runtime.consume(SignatureMail(s.secret(), s.public_url), on_applied=sender.wake)
    lookup = Lookup(store, runtime.consume(refs), "notifier")
    scheduler = ChatMailScheduler(store, config, s.public_url, lookup, sender.wake, idle=s.fallback_poll)
    runtime.consume(ChatMailProjection(config), on_applied=scheduler.wake)
    runtime.start("sender", functools.partial(sender.run, s.fallback_poll))
    runtime.start("chat_mail_scheduler", scheduler.run)
    state = NotifierState(store, sender, scheduler)
    runtime.measure("lk_notifier_outbox_depth", "E-mails in the outbox not sent yet", state.outbox_depth)
    runtime.measure(
        "lk_notifier_mail_failures",
        "Attempts to send an e-mail that failed",
        state.mail_failures,
        counter=True,
    )
    return state


SERVICE = Service("notifier", build, auth=False, health=NotifierState.health)


def create_app(settings: Settings) -> FastAPI:
    return create_service_app(SERVICE, settings)
