"""«Взять в работу» and the queue's filters through the API, one body per mode (issue 12,
point 7): staff take an application (a repeat records nothing and publishes nothing), a
colleague takes it over with the version seen, consumers get 404 from the assignment and
never see an assignee; the queue narrows by «Мои заявки», «Ждём заявителя» and the duty
holder whose due date passed, with pagination kept."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Person, new_person
from tests.e2e.helpers import log_in, read_events
from tests.e2e.process_steps import post
from tests.e2e.test_applications import consumer
from tests.e2e.test_identity_complete import NEW_PASSWORD, create_staff
from tests.e2e.test_process import submitted
from tests.harness import System

ASSIGNED = "lk.applications.ApplicationAssigned.v1"


def staff_member(system: System, http: httpx.Client) -> tuple[dict[str, str], str]:
    person = new_person()
    create_staff(system, person.login, person.email)
    auth = log_in(http, person.login, NEW_PASSWORD)
    return auth, str(http.get("/api/v1/me", headers=auth).json()["id"])


def queue(http: httpx.Client, auth: dict[str, str], **params: Any) -> httpx.Response:
    return http.get("/api/v1/applications", headers=auth, params=params)


def ids(http: httpx.Client, auth: dict[str, str], **params: Any) -> list[str]:
    answer = queue(http, auth, **params)
    assert answer.status_code == 200, answer.text
    return [item["id"] for item in answer.json()["items"]]


def take(http: httpx.Client, auth: dict[str, str], app_id: str, **body: Any) -> httpx.Response:
    return http.post(f"/api/v1/applications/{app_id}/assignment", headers=auth, json=body or None)


def test_staff_take_applications_and_consumers_get_404(system: System, person: Person) -> None:
    with system.client() as http, system.client() as theirs:
        auth = consumer(system, http, person)
        other = consumer(system, theirs, new_person())
        ivanova, ivanova_id = staff_member(system, http)
        petrov, petrov_id = staff_member(system, http)
        app_id = submitted(http, auth)
        page = f"/api/v1/applications/{app_id}"
        version = http.get(page, headers=ivanova).json()["version"]
        for client, who in ((http, auth), (theirs, other)):  # the owner too: no such resource
            assert take(client, who, app_id).status_code == 404
            assert client.get(f"{page}/assignment", headers=who).status_code == 404
        assert http.get(page, headers=ivanova).json()["version"] == version

        first = take(http, ivanova, app_id)
        assert first.status_code == 200, first.text
        assert (first.json()["taken"], first.json()["assignee"]["id"]) == (True, ivanova_id)
        again = take(http, ivanova, app_id)
        assert (again.json()["taken"], again.json()["version"]) == (False, first.json()["version"])
        assert http.get(f"{page}/assignment", headers=ivanova).json()["mine"] is True
        listed = queue(http, ivanova, q=first.json()["number"]).json()["items"]
        assert [i["assignee"]["id"] for i in listed] == [ivanova_id]
        assert "assignee" not in queue(http, auth).json()["items"][0]

        stale = take(http, petrov, app_id, expected_version=version)
        assert stale.status_code == 409 and stale.json()["code"] == "version_conflict"
        over = take(http, petrov, app_id, expected_version=first.json()["version"])
        assert over.status_code == 200 and over.json()["assignee"]["id"] == petrov_id
        assert app_id in ids(http, petrov, assignee="me") and app_id not in ids(http, ivanova, assignee="me")
        # The assignment moved the row's version: a status change with it is not refused.
        moved = post(
            http,
            petrov,
            app_id,
            "transitions",
            {"to_status": "in_work", "expected_version": over.json()["version"]},
        )
        assert moved.status_code == 200, moved.text
    events = [e for e in read_events(system, "applications", app_id, expect=4) if e.type == ASSIGNED]
    assert [e.data["assignee_id"] for e in events] == [ivanova_id, petrov_id]  # the repeat published nothing


def test_the_queue_filters(system: System, person: Person) -> None:
    with system.client() as http:
        auth = consumer(system, http, person)
        staff, _ = staff_member(system, http)
        fresh, asked, worked = (submitted(http, auth) for _ in range(3))
        reason = {"to_status": "needs_documents", "comment": "Нужен план участка"}
        assert post(http, staff, asked, "transitions", reason).status_code == 200
        assert post(http, staff, worked, "transitions", {"to_status": "in_work"}).status_code == 200
        assert take(http, staff, worked).status_code == 200
        mine = {fresh, asked, worked}
        number = {a: http.get(f"/api/v1/applications/{a}", headers=staff).json()["number"] for a in mine}

        def only(**params: Any) -> set[str]:
            return {a for a in mine if a in ids(http, staff, q=number[a], **params)}

        assert only(waiting="applicant") == {asked}
        assert only(waiting="grid_company") == {fresh, worked}
        assert only(assignee="me") == {worked}
        assert only(assignee="none") == {fresh, asked}
        assert only(assignee="me", waiting="applicant") == set()
        assert only(overdue="grid_company") == set()  # every due date is ahead: none is late
        assert only(overdue="applicant") == set()
        assert only(overdue="false") == mine  # the boolean it always was
        # Pagination holds under a filter.
        assert ids(http, staff, assignee="me", limit=1) == [worked]
        first = queue(http, auth, waiting="grid_company", limit=1, offset=0).json()
        second = queue(http, auth, waiting="grid_company", limit=1, offset=1).json()
        assert first["total"] == second["total"] == 2
        assert {first["items"][0]["id"], second["items"][0]["id"]} == {fresh, worked}
        for params in ({"overdue": "вчера"}, {"waiting": "никто"}, {"assignee": "him"}):
            assert queue(http, staff, **params).status_code == 422, params
        assert queue(http, staff, overdue="вчера").json()["code"] == "unknown_filter"
        refused = queue(http, auth, assignee="me")
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
