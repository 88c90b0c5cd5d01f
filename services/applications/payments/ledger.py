"""The payment port on the applications service itself: the one use case, run on the
command side, and the applications found by number in the read store."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, field

from services.applications.actor import Actor
from services.applications.app import ApplicationsApp, today
from services.applications.domain import Application
from services.applications.payments.port import Payment
from shared.readstore import ReadStore
from shared.runtime import blocking

CHUNK = 500  # numbers per query (SQLite allows 999 parameters by default)


@dataclass(frozen=True)
class Ledger:
    app: ApplicationsApp
    store: ReadStore
    touched: dict[uuid.UUID, int] = field(default_factory=dict)  # id → version recorded, to wait for

    async def record(
        self, actor: Actor, application_id: uuid.UUID, payment: Payment
    ) -> tuple[Application, bool]:
        """The use case: the application after ``payment`` and whether it recorded anything."""
        app, on = self.app, today()
        recorded: list[bool] = []

        def step(claim: Application) -> None:
            due = app.activities_due(claim, payment.paid_at)
            recorded.append(
                claim.record_payment(
                    actor, payment.amount_kopecks, payment.paid_at, payment.reference, on, due, payment.source
                )
            )

        claim, _ = await blocking(app.act, application_id, actor, step)
        if recorded == [True]:
            self.touched[application_id] = claim.version
        return claim, recorded == [True]

    async def record_payment(self, actor: Actor, application_id: uuid.UUID, payment: Payment) -> bool:
        return (await self.record(actor, application_id, payment))[1]

    async def numbered(self, numbers: Collection[str]) -> dict[str, uuid.UUID]:
        wanted = sorted(set(numbers))
        found: dict[str, uuid.UUID] = {}
        for at in range(0, len(wanted), CHUNK):
            part = wanted[at : at + CHUNK]
            marks = ", ".join(f"${i}" for i in range(1, len(part) + 1))
            rows = await self.store.fetch(
                f"SELECT number, application_id FROM applications_rows WHERE number IN ({marks})",  # noqa: S608
                *part,
            )
            found.update({r["number"]: uuid.UUID(r["application_id"]) for r in rows})
        return found
