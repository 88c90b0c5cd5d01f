"""E-mail about deadlines (issue 12): the deadline watcher's public events of
``applications.events`` into the mail outbox, one e-mail per event (the outbox row is keyed by
the event id, so a redelivered event writes nothing):
- ``DeadlineReminded.v1`` → the applicant: «Напоминание: до … вам нужно …», with the link to
  the application's page;
- ``DeadlineOverdue.v1`` → the staff desk (``staff_mail``; nothing when it is empty)."""

from __future__ import annotations

from services.notifier.outbox import OUTBOX_DDL, enqueue, render
from shared import format as fmt
from shared.consumer import Projection
from shared.events import Envelope
from shared.process_events import DeadlineOverdueV1, DeadlineRemindedV1
from shared.readstore import Tx


def lowered(title: str) -> str:
    """A title as it reads inside a sentence: «Оплатить счёт» → «оплатить счёт»."""
    return title[:1].lower() + title[1:]


class DeadlineMail(Projection):
    name = "notifier.deadline_mail"  # topics: shared/topology.py
    ddl = OUTBOX_DDL

    def __init__(self, public_url: str, staff_mail: str = "") -> None:
        self.public_url = public_url.rstrip("/")
        self.staff_mail = staff_mail.strip()

    async def handle(self, tx: Tx, event: Envelope) -> None:
        payload = event.parse()
        if isinstance(payload, DeadlineRemindedV1):
            to, template = payload.applicant_email, "deadline_reminder"
            subject = (
                f"Заявка {payload.number}: напоминание о сроке до {fmt.day(payload.due)} — Личный кабинет ТП"
            )
        elif isinstance(payload, DeadlineOverdueV1) and self.staff_mail:
            to, template = self.staff_mail, "deadline_overdue"
            subject = f"Заявка {payload.number}: просрочен срок сетевой организации — Личный кабинет ТП"
        else:
            return
        text, html = render(
            template,
            number=payload.number,
            due=fmt.day(payload.due),
            action=lowered(payload.title),
            link=f"{self.public_url}/applications/{payload.application_id}",
        )
        await enqueue(tx, event.id, event.type, to, subject, text, html)
