"""Applications' part of ``lk ops seed`` (shared/seed.py): applications of the seeded
accounts, filed through the aggregate's own ``file`` and moved through plain status moves
by the seeded staff member, so each has a real status history. Numbers come from the
service's own series (one block), like any filed application's."""

from __future__ import annotations

import asyncio
from itertools import cycle

from services.applications.actor import Actor
from services.applications.app import ApplicationsApp, today
from services.applications.domain import Application
from services.applications.numbers import NumberSeries, counter_store
from services.applications.rules import Submission
from services.applications.workflow import CONSUMER, STAFF
from shared.readstore import build_readstore
from shared.seed import Saver, SeededApplication, SeedPlan
from shared.settings import Settings

# The status histories, in turn (plain moves only: the process's stages need their facts).
HISTORIES: tuple[tuple[tuple[str, str], ...], ...] = (
    (),
    (("in_work", ""),),
    (("needs_documents", "Приложите план расположения энергопринимающих устройств."), ("in_work", "")),
    (("in_work", ""), ("annulled", "Заявитель просил аннулировать заявку.")),
    (("needs_documents", "Нужна копия документа о праве собственности."),),
)
ADDRESSES = ("г. Казань, ул. Баумана, д. {}", "Лаишевский р-н, с. Столбище, ул. Новая, д. {}")


async def _numbers(settings: Settings, count: int) -> list[str]:
    store = build_readstore(settings, "applications")
    await store.open()
    try:
        series = NumberSeries(store, counter_store(settings))
        await series.setup()
        try:
            return await series.block(count)
        finally:
            await series.close()
    finally:
        await store.close()


def seed(settings: Settings, plan: SeedPlan) -> None:
    if not plan.applications:
        return
    assert plan.staff is not None and plan.people, "identity's seeder runs first"
    numbers = asyncio.run(_numbers(settings, plan.applications))
    app = ApplicationsApp(settings)
    try:
        app.seed_catalog()
        kinds = cycle(sorted(app.types.items()))
        staff = Actor(plan.staff.account_id, STAFF, plan.staff.name, plan.staff.email)
        saver = Saver(app, plan, "applications")
        for i, number in enumerate(numbers):
            person = plan.people[i % len(plan.people)]
            code, kind = next(kinds)
            applicant = Actor(person.account_id, CONSUMER, person.name, person.email)
            form = Submission(
                type_code=code,
                power_kw=float(5 + i % 146),
                documents=[],
                owned={},
                object_address=ADDRESSES[i % len(ADDRESSES)].format(i + 1),
                contact_phone=f"+7 900 {i % 1000:03d}-{i % 100:02d}-{i % 97:02d}",
                contact_email=person.email,
                comment="",
            )
            due = app.due_for(code, "submitted", today())
            claim = Application.file(applicant, kind, number, form, due.isoformat() if due else None)
            for status, comment in HISTORIES[i % len(HISTORIES)]:
                claim.move(staff, status, comment, app.due_now(claim, status))
            plan.filed.append(SeededApplication(str(claim.id), person.account_id, number))
            saver.add(claim)
        saver.flush()
    finally:
        app.close()
