"""An in-memory payment port for unit tests: applications by number with an invoice, the
payments recorded on them, and the same answers as the aggregate (a repeat records nothing, a
reference with another amount and an application that takes no payment are refused)."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, field

from services.applications.actor import Actor
from services.applications.payments.port import Payment
from shared.errors import Conflict, Forbidden, NotFound


@dataclass
class FakeApplication:
    number: str
    invoice_kopecks: int
    status: str = "contract"
    payments: dict[str, Payment] = field(default_factory=dict)

    @property
    def paid_kopecks(self) -> int:
        return sum(p.amount_kopecks for p in self.payments.values())


class FakePayments:
    def __init__(self) -> None:
        self.applications: dict[uuid.UUID, FakeApplication] = {}
        self.calls: list[tuple[uuid.UUID, Payment]] = []

    def add(self, number: str, invoice_kopecks: int, status: str = "contract") -> uuid.UUID:
        key = uuid.uuid4()
        self.applications[key] = FakeApplication(number, invoice_kopecks, status)
        return key

    async def numbered(self, numbers: Collection[str]) -> dict[str, uuid.UUID]:
        return {a.number: k for k, a in self.applications.items() if a.number in numbers}

    async def record_payment(self, actor: Actor, application_id: uuid.UUID, payment: Payment) -> bool:
        self.calls.append((application_id, payment))
        claim = self.applications.get(application_id)
        if claim is None:
            raise NotFound("not_found", "Заявка не найдена.")
        if not actor.staff:
            raise Forbidden("forbidden", "Оплату отмечает сотрудник сетевой организации или бухгалтерия.")
        if claim.status not in ("contract", "activities", "tu_check", "acts"):
            raise Conflict("payment_not_allowed", "Оплата по заявке не принимается.")
        earlier = claim.payments.get(payment.reference)
        if earlier is not None:
            if earlier.amount_kopecks == payment.amount_kopecks:
                return False
            raise Conflict("payment_reference_conflict", "Платёж с этим номером уже учтён с другой суммой.")
        claim.payments[payment.reference] = payment
        if claim.status == "contract" and claim.paid_kopecks >= claim.invoice_kopecks:
            claim.status = "activities"
        return True
