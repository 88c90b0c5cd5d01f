"""The deadline watcher's entries: the staff pass on demand in-process (TestClient on the
embedded transport; identity and files played by their public events) — who may run it, a
moved moment only where the settings allow it, a pass that reminds, and the page's version
following the watcher's notices so a staff command on a fresh page is not refused as stale —
and the notifier's deadline mail, once per event."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from services.applications.calendar import WorkCalendar, local_day
from services.applications.main import create_app
from services.notifier.deadline_mail import DeadlineMail
from services.notifier.outbox import OUTBOX_DDL
from shared.process_events import DeadlineOverdueV1, DeadlineRemindedV1
from shared.readstore import SQLiteReadStore
from shared.settings import Settings
from tests.unit.test_applications_process_api import act, page, submit
from tests.unit.test_chat_api import SECRET, World

WATCH = "/api/v1/deadline-watch"


@contextmanager
def world_of(tmp_path: Path, **settings: Any) -> Iterator[World]:
    config = Settings(mode="embedded", var_dir=tmp_path, secret_key=SECRET, poll_interval=0.01, **settings)
    with TestClient(create_app(config)) as http:
        yield World(config, http)


def until(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while not check():
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
    return True


def test_staff_run_a_pass_at_a_moment_only_where_allowed(tmp_path: Path) -> None:
    with world_of(tmp_path) as world:
        anna, staff = world.account("anna"), world.account("staff", staff=True)
        answer = world.http.post(WATCH, headers=anna.auth, json={})
        assert (answer.status_code, answer.json()["code"]) == (403, "forbidden")
        moved = world.http.post(WATCH, headers=staff.auth, json={"at": "2027-01-20T09:00:00"})
        assert (moved.status_code, moved.json()["code"]) == (403, "clock_fixed")
        now = world.http.post(WATCH, headers=staff.auth, json={})
        assert now.status_code == 200, now.text
        assert now.json()["reminded"] == now.json()["annulled"] == 0
        assert world.http.post(WATCH, headers=staff.auth, json={"at": "вчера"}).status_code == 422


def test_the_switched_off_watcher_runs_no_pass(tmp_path: Path) -> None:
    with world_of(tmp_path, deadline_watcher=False) as world:
        staff = world.account("staff", staff=True)
        answer = world.http.post(WATCH, headers=staff.auth, json={})
        assert (answer.status_code, answer.json()["code"]) == (409, "deadline_watcher_off")


def test_a_reminder_keeps_the_page_version_current(tmp_path: Path) -> None:
    """After the watcher's reminder the page shows the new version, and a staff command sent
    with it is taken (the view follows the watcher's notices too)."""
    with world_of(tmp_path, deadline_watch_movable=True) as world:
        anna, staff = world.account("anna"), world.account("staff", staff=True)
        app_id = submit(world, anna)
        asked = act(world, staff, app_id, "transitions", {"to_status": "needs_documents", "comment": "План"})
        assert asked.status_code == 200, asked.text
        requested = next(
            m for m in page(world, staff, app_id)["milestones"] if m["code"] == "documents_requested"
        )
        due: date = WorkCalendar().add_working_days(local_day(requested["at"], "Europe/Moscow"), 20)
        version = page(world, staff, app_id)["version"]
        moment = datetime.combine(due, datetime.min.time()).replace(hour=9).isoformat()
        done = world.http.post(WATCH, headers=staff.auth, json={"at": moment})
        assert (done.status_code, done.json()["reminded"]) == (200, 1), done.text
        assert until(lambda: page(world, staff, app_id)["version"] == version + 1)
        again = world.http.post(WATCH, headers=staff.auth, json={"at": moment})
        assert again.json()["reminded"] == 0
        back = act(
            world, staff, app_id, "transitions", {"to_status": "in_work", "expected_version": version + 1}
        )
        assert back.status_code == 200, back.text


async def test_the_notifier_mails_each_notice_once(tmp_path: Path) -> None:
    """DeadlineReminded.v1 → the applicant, DeadlineOverdue.v1 → the staff desk; a redelivered
    event writes no second outbox row; without a staff desk nothing goes to staff."""
    store = SQLiteReadStore(tmp_path / "notifier.sqlite")
    await store.open()
    await store.migrate(OUTBOX_DDL)
    common = {"number": "ТП-2027-000007", "applicant_id": "a-1", "applicant_email": "ivan@example.ru"}
    app_id = str(uuid.uuid4())
    reminder = DeadlineRemindedV1(
        application_id=app_id, code="payment", title="Оплатить счёт", due="2027-01-20", **common
    ).envelope(source="applications", subject=app_id, sequence=5, position=9)
    late = DeadlineOverdueV1(
        application_id=app_id, code="offer", title="Разместить договор", due="2027-01-18", **common
    ).envelope(source="applications", subject=app_id, sequence=6, position=10)
    try:
        for mail in (DeadlineMail("https://lk.example.ru/", "desk@grid.example.ru"), DeadlineMail("x")):
            for event in (reminder, late, reminder):
                async with store.transaction() as tx:
                    await mail.handle(tx, event)
        rows = await store.fetch(
            "SELECT recipient, subject, body_text FROM notifier_outbox ORDER BY recipient"
        )
    finally:
        await store.close()
    assert [r["recipient"] for r in rows] == ["desk@grid.example.ru", "ivan@example.ru"]
    staff, applicant = rows
    assert "Напоминание: до 20.01.2027 включительно вам нужно оплатить счёт" in applicant["body_text"]
    assert f"https://lk.example.ru/applications/{app_id}" in applicant["body_text"]
    assert "ТП-2027-000007" in applicant["subject"]
    assert (
        "до 18.01.2027 включительно сетевая организация обязана была разместить договор" in staff["body_text"]
    )
