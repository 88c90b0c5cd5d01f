"""The payment port (issue 12, docs/payments.md): what every source of payments calls.

One use case records a payment on an application, ``record_payment(actor, application_id,
Payment(...))``; the ``Application`` aggregate checks it (steps.py) and records
``PaymentRecorded``, idempotent by the payment's reference. The adapters only turn what
arrives into that call: the accounting API (routes/process.py), the bank-statement import
(importer.py), and in unit tests the in-memory fake (fake.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from services.applications.actor import Actor

API = "api"  # posted by staff or the accounting system through the API
STATEMENT = "statement"  # a line of an imported bank statement


@dataclass(frozen=True)
class Payment:
    """One incoming payment, in kopecks; ``reference`` identifies it on the application."""

    amount_kopecks: int
    paid_at: date
    reference: str
    source: str = API


class PaymentPort(Protocol):
    async def record_payment(self, actor: Actor, application_id: uuid.UUID, payment: Payment) -> bool:
        """Record ``payment`` (True), or nothing for a reference already recorded with the same
        amount (False); a refusal raises the step's domain error (shared/errors.py)."""
        ...

    async def numbered(self, numbers: Collection[str]) -> dict[str, uuid.UUID]:
        """The applications among ``numbers`` (``ТП-2026-000123``) that exist: number → id."""
        ...
