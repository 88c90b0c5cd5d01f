"""The deadline watcher on both modes, one body (issue 12, point 6): staff run passes at moved
moments (``POST /api/v1/deadline-watch`` with ``at``, allowed by
``LK_DEADLINE_WATCH_MOVABLE`` on this system only): the applicant is reminded of the unpaid
invoice once, the staff desk told once of the grid company's overdue check, the unpaid
application and the one whose documents never came are annulled once each, with their status
e-mail once, the paid one is not; repeated passes and a restart of the applications service
record nothing more. Mails are counted where they are received and in the notifier's outbox."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

import httpx
import pytest

from services.applications.calendar import WorkCalendar, local_day
from shared.format import today
from shared.readstore import build_readstore
from tests.conftest import MODES, new_person
from tests.e2e.helpers import log_in, mails_with
from tests.e2e.process_steps import offer_body, post
from tests.e2e.test_applications import consumer, until
from tests.e2e.test_identity_complete import NEW_PASSWORD, create_staff
from tests.e2e.test_process import submitted
from tests.harness import System

ZONE = "Europe/Moscow"
WATCH = "/api/v1/deadline-watch"


@pytest.fixture(scope="module", params=MODES)
def movable(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """A system of its own whose watcher passes may be run at a given moment."""
    system = System.create(request.param, tmp_path_factory.mktemp(f"watcher-{request.param}"))
    system.env["LK_DEADLINE_WATCH_MOVABLE"] = "true"
    system.env["LK_STAFF_MAIL"] = f"desk-{uuid.uuid4().hex[:8]}@grid.example.ru"
    try:
        system.start()  # a start that fails stops what it started, too
        yield system
    finally:
        system.destroy()


def at(day: date, hour: int = 9) -> str:
    return datetime.combine(day, time(hour)).isoformat()  # the company's local time


def watch(http: httpx.Client, staff: dict[str, str], moment: str) -> dict[str, Any]:
    answer = http.post(WATCH, headers=staff, json={"at": moment})
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return {k: found[k] for k in ("reminded", "overdue", "annulled", "conflicts", "failed")}


def counts(reminded: int = 0, overdue: int = 0, annulled: int = 0) -> dict[str, int]:
    return {"reminded": reminded, "overdue": overdue, "annulled": annulled, "conflicts": 0, "failed": 0}


def due_after(http: httpx.Client, auth: dict[str, str], app_id: str, code: str, days: int) -> date:
    """``days`` working days from the local date of the application's milestone ``code``."""
    page = http.get(f"/api/v1/applications/{app_id}", headers=auth).json()
    moment = next(m["at"] for m in page["milestones"] if m["code"] == code)
    return WorkCalendar().add_working_days(local_day(moment, ZONE), days)


def outbox_rows(system: System, recipient: str, subject_part: str) -> int:
    async def count() -> int:
        store = build_readstore(system.settings, "notifier")
        await store.open()
        try:
            found = await store.fetchval(
                "SELECT COUNT(*) FROM notifier_outbox WHERE recipient = $1 AND subject LIKE $2",
                recipient,
                f"%{subject_part}%",
            )
        finally:
            await store.close()
        return int(found or 0)

    return asyncio.run(count())


def restart_applications(system: System) -> None:
    """Stop the process that runs the applications service (gracefully) and start it again."""
    host = system.host_of("applications")
    proc = system.procs.pop(host)
    proc.terminate()
    proc.wait(30)
    system.start(host)


def test_reminder_overdue_notice_and_annulments_each_once(movable: System) -> None:
    system, person, boss = movable, new_person(), new_person()
    desk = system.env["LK_STAFF_MAIL"]
    create_staff(system, boss.login, boss.email)
    dropped = system.mailbox.dropped()
    with system.client() as http:
        staff = log_in(http, boss.login, NEW_PASSWORD)
        auth = consumer(system, http, person)
        ids = [submitted(http, auth) for _ in range(4)]
        missing, unpaid, unchecked, paid = ids
        asked = post(http, staff, missing, "transitions", {"to_status": "needs_documents", "comment": "План"})
        assert asked.status_code == 200, asked.text
        for app_id in (unpaid, paid):
            assert post(http, staff, app_id, "transitions", {"to_status": "in_work"}).status_code == 200
            assert (
                post(http, staff, app_id, "offer", offer_body(http, staff, False, 550.0)).status_code == 200
            )
        payment = {"amount_rub": 550.0, "paid_at": today().isoformat(), "reference": "ПП-1"}
        assert post(http, staff, paid, "payments", payment).json()["status"] == "activities"
        numbers = {a: http.get(f"/api/v1/applications/{a}", headers=auth).json()["number"] for a in ids}
        pay_by = due_after(http, auth, unpaid, "offer_placed", 5)
        check_by = due_after(http, auth, unchecked, "received", 3)
        documents_by = due_after(http, auth, missing, "documents_requested", 20)
        assert check_by < pay_by < documents_by

        # Only staff run a pass.
        refused = http.post(WATCH, headers=auth, json={})
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")

        # The invoice's last day: a reminder to the applicant; the check is overdue: staff are told.
        assert watch(http, staff, at(pay_by)) == counts(reminded=1, overdue=1)
        assert watch(http, staff, at(pay_by, 18)) == counts()
        restart_applications(system)
        assert watch(http, staff, at(pay_by)) == counts()
        # The day after: the unpaid application is annulled, the paid one stays.
        assert watch(http, staff, at(pay_by + timedelta(days=1))) == counts(annulled=1)
        assert watch(http, staff, at(pay_by + timedelta(days=1), 12)) == counts()
        # The day after the documents' term: that application is annulled too.
        assert watch(http, staff, at(documents_by + timedelta(days=1))) == counts(annulled=1)
        assert watch(http, staff, at(documents_by + timedelta(days=2))) == counts()

        def statuses() -> dict[str, str]:
            return {a: http.get(f"/api/v1/applications/{a}", headers=auth).json()["status"] for a in ids}

        expected = {missing: "annulled", unpaid: "annulled", unchecked: "submitted", paid: "activities"}
        assert until(lambda: statuses() == expected), statuses()
        last = http.get(f"/api/v1/applications/{unpaid}", headers=auth).json()["timeline"][-1]
        assert (last["to_status"], last["actor_role"]) == ("annulled", "system")
        assert "счёт не оплачен в срок" in last["comment"]

    reminder = mails_with(system, person.email, f"Заявка {numbers[unpaid]}: напоминание о сроке")
    assert len(reminder) == 1
    assert "вам нужно оплатить счёт" in reminder[0].text
    assert f"/applications/{unpaid}" in reminder[0].text
    for app_id in (unpaid, missing):
        assert len(mails_with(system, person.email, f"Заявка {numbers[app_id]}: Аннулирована")) == 1
    late = mails_with(system, desk, f"Заявка {numbers[unchecked]}: просрочен срок")
    assert len(late) == 1 and "проверить комплектность заявки" in late[0].text
    assert mails_with(system, person.email, f"Заявка {numbers[paid]}: Аннулирована", count=0) == []
    assert outbox_rows(system, person.email, "напоминание о сроке") == 1
    assert outbox_rows(system, desk, "просрочен срок") == 1
    assert outbox_rows(system, person.email, "Аннулирована") == 2
    assert system.mailbox.dropped() == dropped
