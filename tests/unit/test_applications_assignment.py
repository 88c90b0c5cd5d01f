"""«Взять в работу» and the queue's filters in-process (TestClient on the embedded transport):
staff take an application (a repeat records nothing, a colleague may take it over, a stale
page is refused), consumers get 404 from the assignment, and the list narrows by the duty
holder whose due date passed, by who must act and by the assignee."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from services.applications import queries
from services.applications.domain import Application
from services.applications.queries import DUTY
from shared.statuses import FINAL, TITLES
from tests.unit.test_applications_process_api import act, page, submit, world
from tests.unit.test_chat_api import World

__all__ = ["world"]


def listed(world: World, who: Any, **params: str) -> list[str]:
    answer = world.http.get("/api/v1/applications", headers=who.auth, params={"limit": "200", **params})
    assert answer.status_code == 200, answer.text
    return [item["id"] for item in answer.json()["items"]]


def take(world: World, who: Any, app_id: str, body: dict[str, Any] | None = None) -> Any:
    path = f"/api/v1/applications/{app_id}/assignment"
    return (
        world.http.post(path, headers=who.auth, json=body)
        if body
        else world.http.post(path, headers=who.auth)
    )


def test_staff_take_an_application_and_consumers_never_see_the_assignment(world: World) -> None:
    anna, ivanova, petrov = (
        world.account("anna"),
        world.account("ivanova", staff=True),
        world.account("petrov", staff=True),
    )
    app_id = submit(world, anna)
    path = f"/api/v1/applications/{app_id}/assignment"
    assert world.http.get(path, headers=ivanova.auth).json() == {"assignee": None, "mine": False}
    for who in (anna,):  # the applicant's own application: still no such resource
        before = page(world, ivanova, app_id)["version"]
        assert take(world, who, app_id).status_code == 404
        assert world.http.get(path, headers=who.auth).status_code == 404
        assert page(world, ivanova, app_id)["version"] == before
    first = take(world, ivanova, app_id)
    assert first.status_code == 200, first.text
    assert first.json()["taken"] is True and first.json()["assignee"]["id"] == ivanova.account_id
    again = take(world, ivanova, app_id)
    assert again.json()["taken"] is False and again.json()["version"] == first.json()["version"]
    stale = take(world, petrov, app_id, {"expected_version": first.json()["version"] - 1})
    assert stale.status_code == 409 and stale.json()["code"] == "version_conflict"
    over = take(world, petrov, app_id, {"expected_version": first.json()["version"]})
    assert over.status_code == 200 and over.json()["assignee"]["id"] == petrov.account_id
    assert world.http.get(path, headers=petrov.auth).json()["mine"] is True
    queue = world.http.get("/api/v1/applications", headers=petrov.auth).json()["items"]
    assert next(i for i in queue if i["id"] == app_id)["assignee"]["id"] == petrov.account_id
    mine = world.http.get("/api/v1/applications", headers=anna.auth).json()["items"]
    assert [i["id"] for i in mine] == [app_id] and "assignee" not in mine[0]
    # A status change with the version the page shows is not refused after an assignment.
    moved = act(
        world,
        petrov,
        app_id,
        "transitions",
        {"to_status": "in_work", "expected_version": over.json()["version"]},
    )
    assert moved.status_code == 200, moved.text


def test_a_closed_application_is_not_taken(world: World) -> None:
    anna, staff = world.account("anna"), world.account("staff", staff=True)
    app_id = submit(world, anna)
    assert (
        act(world, staff, app_id, "transitions", {"to_status": "annulled", "comment": "дубль"}).status_code
        == 200
    )
    refused = take(world, staff, app_id)
    assert refused.status_code == 409 and refused.json()["code"] == "application_closed"


def test_the_queue_filters(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    anna, boris = world.account("anna"), world.account("boris")
    ivanova, petrov = world.account("ivanova", staff=True), world.account("petrov", staff=True)
    fresh, asked, offered = submit(world, anna), submit(world, anna), submit(world, boris)
    assert (
        act(
            world, ivanova, asked, "transitions", {"to_status": "needs_documents", "comment": "план"}
        ).status_code
        == 200
    )
    assert act(world, ivanova, offered, "transitions", {"to_status": "in_work"}).status_code == 200
    contract, tu = world.file(ivanova, "д.pdf"), world.file(ivanova, "ту.pdf")
    offer = {
        "contract_file_id": contract,
        "technical_conditions_file_id": tu,
        "invoice": {"amount_rub": 550},
        "activities_term": {"months": 4},
    }
    assert act(world, ivanova, offered, "offer", offer).status_code == 200
    assert take(world, ivanova, fresh).status_code == 200
    assert take(world, petrov, offered).status_code == 200

    def only(ids: list[str]) -> set[str]:
        return set(ids) & {fresh, asked, offered}

    assert only(listed(world, ivanova, waiting="applicant")) == {asked, offered}
    assert only(listed(world, ivanova, waiting="grid_company")) == {fresh}
    assert only(listed(world, ivanova, assignee="me")) == {fresh}
    assert only(listed(world, petrov, assignee="me")) == {offered}
    assert only(listed(world, petrov, assignee="none")) == {asked}
    assert only(listed(world, ivanova, assignee="me", waiting="applicant")) == set()
    assert only(listed(world, ivanova, overdue="grid_company")) == set()  # nothing is late today
    assert only(listed(world, ivanova, overdue="true")) == set()
    later = date.today() + timedelta(days=400)  # every due date has passed by then
    monkeypatch.setattr(queries, "today", lambda: later)
    assert only(listed(world, ivanova, overdue="grid_company")) == {fresh}
    assert only(listed(world, ivanova, overdue="applicant")) == {asked, offered}
    assert only(listed(world, ivanova, overdue="1")) == {fresh, asked, offered}
    assert listed(world, anna, waiting="applicant") == [asked]  # a consumer: their own only
    for bad, code in (({"overdue": "вчера"}, 422), ({"waiting": "nobody"}, 422), ({"assignee": "him"}, 422)):
        assert world.http.get("/api/v1/applications", headers=ivanova.auth, params=bad).status_code == code
    refused = world.http.get("/api/v1/applications", headers=anna.auth, params={"assignee": "me"})
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"


def test_every_open_status_has_one_duty_holder() -> None:
    held = [s for side in DUTY.values() for s in side]
    assert sorted(held) == sorted(set(TITLES) - FINAL)


def test_the_assigned_event_loads_without_an_earlier_assignee() -> None:
    """Applications filed before «Взять в работу» existed have nobody (the mixin's default)."""
    assert Application.assignee_id == "" and Application.assignee_name == ""
