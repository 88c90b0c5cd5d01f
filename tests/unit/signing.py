"""Signing an offer in unit tests the way the applicant does (ПЭП): ask for a code, then sign
with the code the e-mail would carry (derived with the fixtures' secret)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from services.applications.actor import Actor
from services.applications.app import ApplicationsApp
from services.applications.domain import Application
from shared.signature_code import signature_code, signature_key

KEY = signature_key("k" * 40)  # the unit fixtures' secret


def sign_as(
    app: ApplicationsApp,
    applicant: Actor,
    claim_id: uuid.UUID,
    due: str | None = None,
    now: datetime | None = None,
) -> Application:
    at = now or datetime.now(UTC)
    challenge_id = str(uuid.uuid4())
    app.act(
        claim_id,
        applicant,
        lambda c: c.request_signature_code(applicant, challenge_id, "ab" * 32, at, 900, 60),
    )
    code = signature_code(KEY, str(claim_id), challenge_id)
    outcome: list[object] = []
    claim, _ = app.act(
        claim_id, applicant, lambda c: outcome.append(c.sign(applicant, code, KEY, at, "203.0.113.5", due))
    )
    assert outcome == [None]
    return claim
