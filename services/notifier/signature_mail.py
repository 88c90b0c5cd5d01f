"""The e-mail with the one-time code of the simple electronic signature (ПЭП).

``SignatureCodeIssued.v1`` names the challenge, never the code: the notifier derives the code
with the platform's sub-key (shared/signature_code.py), as the applications service does to
check it, and queues one e-mail per event (keyed by the event's id, so a redelivery or a replay
sends nothing twice). A challenge already expired when its event is read (a replay of the
topic, a long outage) is not mailed: its code could no longer sign."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from services.notifier.outbox import OUTBOX_DDL, enqueue, render
from shared import format as fmt
from shared.consumer import Projection
from shared.events import Envelope
from shared.process_events import SignatureCodeIssuedV1
from shared.readstore import Tx
from shared.signature_code import signature_code, signature_key


def _now() -> datetime:
    return datetime.now(UTC)


class SignatureMail(Projection):
    name = "notifier.signature_mail"  # topics: shared/topology.py
    ddl = OUTBOX_DDL

    def __init__(self, secret: str, public_url: str, clock: Callable[[], datetime] = _now) -> None:
        self.key = signature_key(secret)
        self.public_url = public_url.rstrip("/")
        self.clock = clock

    async def handle(self, tx: Tx, event: Envelope) -> None:
        payload = event.parse()
        if not isinstance(payload, SignatureCodeIssuedV1) or payload.expires_at <= self.clock():
            return
        text, html = render(
            "signature_code",
            number=payload.number,
            code=signature_code(self.key, payload.application_id, payload.challenge_id),
            expires=fmt.when(payload.expires_at),
            document=payload.document.name or "Договор об осуществлении технологического присоединения",
            sha256=payload.document_sha256,
            link=f"{self.public_url}/applications/{payload.application_id}",
        )
        subject = f"Код подписания договора по заявке {payload.number} — Личный кабинет ТП"
        await enqueue(tx, event.id, event.type, payload.applicant_email, subject, text, html)
