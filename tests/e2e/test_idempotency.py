"""A retry after a lost answer stores nothing twice: every create takes an Idempotency-Key,
and a repeat with the same key answers the first result (the same body, the header
Idempotent-Replayed: true); the same key for another request is refused (422)."""

from __future__ import annotations

import re
import uuid

from tests.conftest import Person, new_person
from tests.e2e.files_helpers import PDF, upload_zip
from tests.e2e.helpers import log_in, mails_with, register_and_confirm
from tests.e2e.test_applications import application_body
from tests.harness import System


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def test_registration_repeated_with_its_key(system: System, person: Person) -> None:
    headers = key()
    with system.client() as http:
        first = http.post("/api/v1/accounts", json=person.registration(), headers=headers)
        again = http.post("/api/v1/accounts", json=person.registration(), headers=headers)
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
        assert "idempotent-replayed" not in first.headers
        # Without the key a second registration is what it always was: the login is taken.
        assert http.post("/api/v1/accounts", json=person.registration()).status_code == 409
        other = new_person()
        reused = http.post("/api/v1/accounts", json=other.registration(), headers=headers)
        assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"
        bad = http.post(
            "/api/v1/accounts", json=new_person().registration(), headers={"Idempotency-Key": "x"}
        )
        assert bad.status_code == 400 and bad.json()["code"] == "invalid_idempotency_key"
    assert len(system.mailbox.wait_for(person.email)) == 1
    assert system.mailbox.messages_to(other.email) == []


def test_upload_and_submission_repeated_with_their_keys(system: System, person: Person) -> None:
    with system.client() as http:
        register_and_confirm(system, http, person)
        auth = log_in(http, person.login, person.password)
        upload_key = {**auth, **key()}
        file = {"file": ("заявка.pdf", PDF, "application/pdf")}
        first = http.post("/api/v1/files", headers=upload_key, files=file)
        again = http.post("/api/v1/files", headers=upload_key, files=file)
        assert first.status_code == again.status_code == 201
        assert again.json()["id"] == first.json()["id"] and again.headers["idempotent-replayed"] == "true"
        listed = http.get("/api/v1/files", headers=auth).json()
        assert [item["id"] for item in listed["items"]] == [first.json()["id"]]  # stored once

        docs = [
            {"slot": "archive", "file_id": upload_zip(http, auth)},
            {"slot": "application_form", "file_id": first.json()["id"]},
        ]
        submit_key = {**auth, **key()}
        body = application_body(docs)
        filed = http.post("/api/v1/applications", headers=submit_key, json=body)
        repeat = http.post("/api/v1/applications", headers=submit_key, json=body)
        assert filed.status_code == repeat.status_code == 201
        assert repeat.json() == filed.json() and repeat.headers["idempotent-replayed"] == "true"
        mine = http.get("/api/v1/applications", headers=auth).json()
        assert mine["total"] == 1
        changed = http.post("/api/v1/applications", headers=submit_key, json={**body, "power_kw": 5})
        assert changed.status_code == 422 and changed.json()["code"] == "idempotency_key_reused"
    assert len(mails_with(system, person.email, filed.json()["number"])) == 1


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no hidden {name}"
    return found.group(1)


def test_a_page_form_sent_twice_creates_once(system: System) -> None:
    """The pages send one key per form shown: «Зарегистрироваться» pressed twice (or again
    after a lost answer) makes one account and one e-mail."""
    person = new_person()
    with system.client() as http:
        form = http.get("/?tab=register").text
        fields = {
            "csrf": hidden(form, "csrf"),
            "idempotency_key": hidden(form, "idempotency_key"),
            "login": person.login,
            "email": person.email,
            "account_type": "consumer",
            "password": person.password,
            "password2": person.password,
        }
        first = http.post("/register", data=fields)
        again = http.post("/register", data=fields)
        assert first.status_code == again.status_code == 303
        assert first.headers["location"] == again.headers["location"] == "/registered"
        assert http.get("/?tab=register").text.count('name="idempotency_key"') == 1
    assert len(system.mailbox.wait_for(person.email)) == 1
