"""E-mail about the termination of the contract (issue 12), from ``applications.events``, one
e-mail per event and recipient (the outbox row is keyed by the event id and the recipient's
role, so a redelivered event writes nothing):
- ``TerminationRequested.v1`` → the applicant (the statement received, what happens next) and
  the staff desk (``staff_mail``; nothing when it is empty);
- ``TerminationDecided.v1`` refused → the applicant, with the reason. An accepted one annuls
  the application: the status e-mail «Аннулирована» tells it, with the settlement."""

from __future__ import annotations

from services.notifier.outbox import OUTBOX_DDL, enqueue, render
from shared.consumer import Projection
from shared.events import Envelope
from shared.process_events import TerminationDecidedV1, TerminationRequestedV1
from shared.readstore import Tx

SUFFIX = " — Личный кабинет ТП"


class TerminationMail(Projection):
    name = "notifier.termination_mail"  # topics: shared/topology.py
    ddl = OUTBOX_DDL

    def __init__(self, public_url: str, staff_mail: str = "") -> None:
        self.public_url = public_url.rstrip("/")
        self.staff_mail = staff_mail.strip()

    async def handle(self, tx: Tx, event: Envelope) -> None:
        payload = event.parse()
        if not isinstance(payload, TerminationRequestedV1 | TerminationDecidedV1):
            return
        mails: list[tuple[str, str, str, list[str]]] = []  # (role, to, subject, paragraphs)
        if isinstance(payload, TerminationRequestedV1):
            mails.append(
                (
                    "applicant",
                    payload.applicant_email,
                    f"Заявка {payload.number}: заявление о расторжении договора получено",
                    [
                        f"Сетевая организация получила ваше заявление о расторжении договора ТП по заявке {payload.number}.",
                        "Она рассчитает фактически понесённые расходы и сообщит решение; остаток оплаты "
                        f"вернут по указанным реквизитам: {payload.refund_details}.",
                    ],
                )
            )
            if self.staff_mail:
                mails.append(
                    (
                        "staff",
                        self.staff_mail,
                        f"Заявка {payload.number}: заявитель просит расторгнуть договор",
                        [f"Причина: {payload.reason}", f"Реквизиты для возврата: {payload.refund_details}"],
                    )
                )
        elif isinstance(payload, TerminationDecidedV1) and not payload.accepted:
            mails.append(
                (
                    "applicant",
                    payload.applicant_email,
                    f"Заявка {payload.number}: в расторжении договора отказано",
                    [
                        f"Сетевая организация отказала в расторжении договора ТП: {payload.comment}",
                        "Заявка остаётся в работе.",
                    ],
                )
            )
        for role, to, subject, paragraphs in mails:
            text, html = render(
                "termination",
                number=payload.number,
                paragraphs=paragraphs,
                link=f"{self.public_url}/applications/{payload.application_id}",
            )
            await enqueue(tx, f"{event.id}-{role}", event.type, to, subject + SUFFIX, text, html)
