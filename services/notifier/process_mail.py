"""The applicant's e-mails about the grid-connection process (issue 12): the offer placed,
each company document placed, a payment recorded. One e-mail per event, keyed by the
event's id in the mail outbox (outbox.py), so a redelivered event sends nothing twice.

One clear e-mail per step, not two (docs/decisions.md, record 18): a status change that a
fact causes is told by the fact's e-mail, which names the new status —
- the offer placed moves the application to «Заключение договора ТП»: the offer's e-mail
  (amount, due date, what to do) replaces that status change's;
- a closing document placed moves it to «Заявка выполнена»: the document's e-mail says so
  and replaces that status change's;
- the payment that concludes the contract is told by the status e-mail «Выполнение
  мероприятий по ТП» (договор заключён); every other payment gets its own e-mail (a partial
  one with what is left to pay, a full one of an offer that is signed).

What the public events lack (the applicant's address and whether the offer needs a
signature on ``PaymentRecorded.v1``, the status before it) the notifier keeps per
application from the events before, in the same transaction (``notifier_process``); for an
offer placed before that table existed, the address comes from the reference rows
(``notifier.refs``).
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from services.notifier.outbox import OUTBOX_DDL, MailOutbox, enqueue, render
from shared import format as fmt
from shared.events import Envelope, PublicEvent, StatusChangedV1
from shared.process_events import CompanyDocumentPlacedV1, OfferPlacedV1, PaymentRecordedV1
from shared.readstore import Row, Tx
from shared.references import table

log = structlog.get_logger(__name__)

PROCESS_MAIL_DDL = (
    "CREATE TABLE IF NOT EXISTS notifier_process (application_id TEXT PRIMARY KEY,"
    " applicant_email TEXT NOT NULL, status TEXT NOT NULL DEFAULT '', needs_signature BOOLEAN)",
)

# The status changes told by the fact's own e-mail (sent just before, from the same save).
TOLD_BY_THE_FACT = frozenset({"contract", "completed"})
# The company documents that complete an application (services/applications/steps.py CLOSING;
# tests/unit/test_process_mail.py checks they agree).
CLOSING = frozenset({"closing_notice", "act_tp"})
SUFFIX = " — Личный кабинет ТП"


def rub(kopecks: int) -> str:
    """``1 250 000,75 ₽``: exact, from kopecks."""
    sign = "−" if kopecks < 0 else ""
    whole, part = divmod(abs(kopecks), 100)
    return f"{sign}{fmt.number(whole)},{part:02d}{fmt.NBSP}₽"


def _concludes(known: Row) -> bool:
    """A full payment on an application at «Заключение договора ТП» whose offer needs no
    signature concludes the contract (services/applications/steps.py record_payment)."""
    signature = known["needs_signature"]
    return known["status"] == "contract" and signature is not None and not signature


class ProcessMail:
    """The process's e-mails, for :class:`ProcessMailOutbox`."""

    def __init__(self, public_url: str) -> None:
        self.public_url = public_url.rstrip("/")

    def link(self, application_id: str) -> str:
        return f"{self.public_url}/applications/{application_id}"

    async def handle(self, tx: Tx, event: Envelope, payload: PublicEvent | None) -> bool:
        """Mail (or keep track of) ``payload``; True when the outbox's own e-mail for it is
        not to be sent (the event is the process's, or a status change its fact told)."""
        if isinstance(payload, StatusChangedV1):
            await self._track(tx, payload.application_id, payload.applicant_email, payload.to_status)
            return payload.to_status in TOLD_BY_THE_FACT
        if isinstance(payload, OfferPlacedV1):
            await self._offer_placed(tx, event, payload)
        elif isinstance(payload, CompanyDocumentPlacedV1):
            await self._document_placed(tx, event, payload)
        elif isinstance(payload, PaymentRecordedV1):
            await self._payment_recorded(tx, event, payload)
        else:
            return False
        return True

    async def _track(
        self, tx: Tx, application_id: str, email: str, status: str, needs_signature: bool | None = None
    ) -> None:
        await tx.execute(
            "INSERT INTO notifier_process (application_id, applicant_email, status, needs_signature)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (application_id) DO UPDATE SET"
            " applicant_email = excluded.applicant_email,"
            " status = CASE WHEN excluded.status = '' THEN notifier_process.status ELSE excluded.status END,"
            " needs_signature = COALESCE(excluded.needs_signature, notifier_process.needs_signature)",
            application_id,
            email,
            status,
            needs_signature,
        )

    async def _offer_placed(self, tx: Tx, event: Envelope, offer: OfferPlacedV1) -> None:
        await self._track(tx, offer.application_id, offer.applicant_email, "", offer.needs_signature)
        text, html = render(
            "offer_placed",
            number=offer.number,
            amount=rub(offer.amount_kopecks),
            due=fmt.day(offer.invoice_due),
            needs_signature=offer.needs_signature,
            months=offer.activities_months,
            working_days=offer.activities_working_days,
            link=self.link(offer.application_id),
        )
        subject = f"Заявка {offer.number}: договор, технические условия и счёт размещены{SUFFIX}"
        await enqueue(tx, event.id, event.type, offer.applicant_email, subject, text, html)

    async def _document_placed(self, tx: Tx, event: Envelope, placed: CompanyDocumentPlacedV1) -> None:
        closing = placed.kind in CLOSING
        text, html = render(
            "company_document",
            number=placed.number,
            title=placed.title,
            closing=closing,
            link=self.link(placed.application_id),
        )
        what = "Заявка выполнена" if closing else f"размещён документ «{placed.title}»"
        subject = f"Заявка {placed.number}: {what}{SUFFIX}"
        await enqueue(tx, event.id, event.type, placed.applicant_email, subject, text, html)

    async def _payment_recorded(self, tx: Tx, event: Envelope, paid: PaymentRecordedV1) -> None:
        known = await tx.fetchrow(
            "SELECT applicant_email, status, needs_signature FROM notifier_process WHERE application_id = $1",
            paid.application_id,
        )
        full = paid.paid_kopecks >= paid.invoice_kopecks
        if full and known is not None and _concludes(known):
            return  # it concludes the contract: the status e-mail «договор заключён» tells it
        email = str(known["applicant_email"]) if known else await self._address(tx, paid.applicant_id)
        if not email:
            log.warning("mail.no_address", event_id=event.id, application_id=paid.application_id)
            return
        left = max(paid.invoice_kopecks - paid.paid_kopecks, 0)
        text, html = render(
            "payment_recorded",
            number=paid.number,
            amount=rub(paid.amount_kopecks),
            paid_on=fmt.day(paid.paid_at),
            paid=rub(paid.paid_kopecks),
            invoice=rub(paid.invoice_kopecks),
            left=rub(left) if left else "",
            concludes=known is not None and _concludes(known),
            link=self.link(paid.application_id),
        )
        what = f"получен платёж {rub(paid.amount_kopecks)}" + (
            f", осталось оплатить {rub(left)}" if left else ", счёт оплачен полностью"
        )
        await enqueue(tx, event.id, event.type, email, f"Заявка {paid.number}: {what}{SUFFIX}", text, html)

    async def _address(self, tx: Tx, account_id: str) -> str:
        """The applicant's address from the notifier's reference rows (``notifier.refs``)."""
        found = await tx.fetchval(
            f"SELECT email FROM {table('notifier', 'accounts')} WHERE account_id = $1",  # noqa: S608
            account_id,
        )
        return str(found or "")


class ProcessMailOutbox(MailOutbox):
    """The mail outbox with the process's e-mails (the projection ``notifier.outbox``)."""

    ddl: Sequence[str] = (*OUTBOX_DDL, *PROCESS_MAIL_DDL)

    def __init__(self, public_url: str, staff_mail: str = "") -> None:
        super().__init__(public_url, staff_mail)
        self.process = ProcessMail(public_url)

    async def handle(self, tx: Tx, event: Envelope) -> None:
        if not await self.process.handle(tx, event, event.parse()):
            await super().handle(tx, event)
