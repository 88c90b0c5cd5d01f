"""The deadline watcher (services/applications/watcher.py) on the real aggregate and command
side (in-memory event store) with a fake clock and a fake list of open applications: a
reminder once, an overdue notice once, an annulment once, nothing twice after a restart (a
new watcher), no annulment of an application paid in time or paid during the pass, and the
switches."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from services.applications.app import ApplicationsApp
from services.applications.calendar import local_day
from services.applications.deadline_steps import SYSTEM
from services.applications.domain import Application
from services.applications.public import make_mapper
from services.applications.watcher import Outcome, Watcher
from shared.events import StatusChangedV1
from shared.format import zone
from shared.process_events import DeadlineOverdueV1, DeadlineRemindedV1
from shared.readstore import Row
from shared.settings import Settings
from tests.unit.test_applications_process import STAFF, TODAY, in_work, offered, pay, submit

MakeApp = Callable[..., ApplicationsApp]


@pytest.fixture
def make_app(tmp_path: Path) -> MakeApp:
    def make(**overrides: Any) -> ApplicationsApp:
        settings = Settings(var_dir=tmp_path, secret_key="k" * 40, **overrides)
        app = ApplicationsApp(settings, env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
        app.seed_catalog()
        return app

    return make


def listing(app: ApplicationsApp, *ids: uuid.UUID) -> Callable[[], Any]:
    """The read model's open applications, as the watcher asks for them (version = the
    aggregate's: a view that has caught up)."""

    async def fetch() -> list[Row]:
        claims: list[Application] = [app.repository.get(i) for i in ids]
        return [{"application_id": str(c.id), "version": c.version} for c in claims if c.status != "annulled"]

    return fetch


def at(day: date, hour: int = 9) -> datetime:
    """A moment of the grid company's local day."""
    return datetime.combine(day, time(hour), zone("Europe/Moscow"))


def requested(app: ApplicationsApp) -> uuid.UUID:
    claim_id = submit(app)
    app.transition(claim_id, STAFF, "needs_documents", "Нужен план участка")
    return claim_id


def documents_due(app: ApplicationsApp) -> date:
    """20 working days from the request (the catalog's term), counted on the calendar."""
    return app.calendar.add_working_days(local_day(datetime.now().astimezone()), 20)


def published(app: ApplicationsApp, claim_id: uuid.UUID) -> list[Any]:
    mapper = make_mapper(app)
    return [mapper(e) for e in app.repository.event_store.get(claim_id)]


def day_with_left(app: ApplicationsApp, due: date, left: int) -> date:
    """The last day from which ``left`` working days remain until ``due``."""
    day = due
    while app.calendar.working_days_between(day, due) < left:
        day -= timedelta(days=1)
    return day


async def test_a_reminder_two_working_days_before_once(make_app: MakeApp) -> None:
    app = make_app()
    claim_id = requested(app)
    due = documents_due(app)
    watcher = Watcher(app, listing(app, claim_id))
    early = await watcher.run_once(at(day_with_left(app, due, 3)))
    assert early.reminded == 0
    first = await watcher.run_once(at(day_with_left(app, due, 2)))
    again = await watcher.run_once(at(day_with_left(app, due, 1)))
    restarted = await Watcher(app, listing(app, claim_id)).run_once(at(due))
    assert (first.reminded, again.reminded, restarted.reminded) == (1, 0, 0)
    reminders = [p for p in published(app, claim_id) if isinstance(p, DeadlineRemindedV1)]
    assert [(r.code, r.due, r.applicant_email) for r in reminders] == [
        ("documents", due.isoformat(), "ivan@example.ru")
    ]
    assert reminders[0].title.startswith("Представить недостающие документы")
    assert app.repository.get(claim_id).status == "needs_documents"


async def test_annulment_once_for_missing_documents_and_not_after_a_restart(make_app: MakeApp) -> None:
    app = make_app()
    claim_id = requested(app)
    due = documents_due(app)
    on_due = await Watcher(app, listing(app, claim_id)).run_once(at(due, 23))
    assert on_due.annulled == 0  # the due day itself still counts
    late = at(due + timedelta(days=1))
    outcomes = [await Watcher(app, listing(app, claim_id)).run_once(late) for _ in range(3)]
    assert [o.annulled for o in outcomes] == [1, 0, 0]
    claim: Application = app.repository.get(claim_id)
    assert claim.status == "annulled"
    changes = [p for p in published(app, claim_id) if isinstance(p, StatusChangedV1)]
    last = changes[-1]
    assert (last.to_status, last.actor_id, last.actor_role) == ("annulled", SYSTEM.account_id, "system")
    assert "недостающие документы не представлены в срок" in last.comment
    assert sum(1 for c in changes if c.to_status == "annulled") == 1


async def test_an_unpaid_invoice_annuls_and_a_paid_one_does_not(make_app: MakeApp) -> None:
    app = make_app()
    unpaid, paid = offered(app), offered(app)
    pay(app, paid, 55_000, "p-1")  # in full, in time: the contract is concluded
    invoice_due = app.calendar.add_working_days(TODAY, 5)
    # Paid the day the offer was placed: the payment deadline ended, no reminder for it.
    reminded = await Watcher(app, listing(app, unpaid, paid)).run_once(at(invoice_due))
    assert reminded.reminded == 1
    assert not [p for p in published(app, paid) if isinstance(p, DeadlineRemindedV1)]
    late = at(invoice_due + timedelta(days=1))
    outcome = await Watcher(app, listing(app, unpaid, paid)).run_once(late)
    assert outcome.annulled == 1
    assert app.repository.get(unpaid).status == "annulled"
    assert app.repository.get(paid).status == "activities"
    reason = [p for p in published(app, unpaid) if isinstance(p, StatusChangedV1)][-1].comment
    assert "счёт не оплачен в срок" in reason


async def test_a_payment_landing_during_the_pass_wins(make_app: MakeApp) -> None:
    """The watcher read the application unpaid; the payment is saved before its annulment:
    the annulment's save fails on the version and the next pass finds the contract concluded."""
    app = make_app()
    claim_id = offered(app)
    rows: list[Row] = await listing(app, claim_id)()  # listed before the pass reads (and pays)

    async def listed() -> list[Row]:
        return rows

    store = app.repository.event_store
    read = store.get

    paid: list[str] = []

    def read_then_pay(originator_id: uuid.UUID, *args: Any, **kwargs: Any) -> Any:
        events = list(read(originator_id, *args, **kwargs))
        if not paid:  # once: the payment's own command reads the events too
            paid.append("p-late")
            pay(app, claim_id, 55_000, "p-late")
        return iter(events)

    store.get = read_then_pay  # type: ignore[method-assign]
    late = at(app.calendar.add_working_days(TODAY, 5) + timedelta(days=1))
    watcher = Watcher(app, listed)
    raced = await watcher.run_once(late)
    assert (raced.conflicts, raced.annulled) == (1, 0)
    store.get = read  # type: ignore[method-assign]
    after = await watcher.run_once(late)
    assert (after.conflicts, after.annulled) == (0, 0)
    assert app.repository.get(claim_id).status == "activities"


async def test_the_grid_companys_overdue_deadline_is_noted_once(make_app: MakeApp) -> None:
    app = make_app()
    claim_id = submit(app)  # the completeness check: 3 working days
    late = at(app.calendar.add_working_days(TODAY, 3) + timedelta(days=1))
    counts = [(await Watcher(app, listing(app, claim_id)).run_once(late)).overdue for _ in range(2)]
    assert counts == [1, 0]
    notices = [p for p in published(app, claim_id) if isinstance(p, DeadlineOverdueV1)]
    assert [(n.code, n.duty) for n in notices] == [("completeness_check", "grid_company")]
    assert notices[0].title == "Проверить комплектность заявки"
    assert app.repository.get(claim_id).status == "submitted"  # a notice, not a move


async def test_switches_off_record_nothing(make_app: MakeApp) -> None:
    app = make_app(auto_annul_documents=False, auto_annul_unpaid=False)
    documents, unpaid = requested(app), offered(app)
    late = at(max(documents_due(app), app.calendar.add_working_days(TODAY, 5)) + timedelta(days=1))
    outcome = await Watcher(app, listing(app, documents, unpaid)).run_once(late)
    assert outcome.annulled == 0
    assert (app.repository.get(documents).status, app.repository.get(unpaid).status) == (
        "needs_documents",
        "contract",
    )

    off = make_app(deadline_watcher=False)
    claim_id = requested(off)
    version: int = off.repository.get(claim_id).version
    await Watcher(off, listing(off, claim_id)).run()  # returns at once: the loop is off
    assert off.repository.get(claim_id).version == version


async def test_a_quiet_application_is_not_read_again_the_same_day(make_app: MakeApp) -> None:
    """Idle cost: with nothing new (the same row version) on the same day, the events are not
    read again; a new day reads them."""
    app = make_app()
    claim_id = in_work(app)
    watcher = Watcher(app, listing(app, claim_id))
    reads: list[uuid.UUID] = []
    decide = watcher.decide

    def counted(application_id: uuid.UUID, now: datetime) -> Outcome:
        reads.append(application_id)
        return decide(application_id, now)

    watcher.decide = counted  # type: ignore[method-assign]
    for hour in (9, 12):
        assert await watcher.run_once(at(TODAY, hour)) == Outcome(checked=1 if hour == 9 else 0)
    await watcher.run_once(at(TODAY + timedelta(days=1)))
    assert reads == [claim_id, claim_id]
