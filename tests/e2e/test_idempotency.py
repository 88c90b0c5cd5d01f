"""A retry after a lost answer stores nothing twice: every create takes an Idempotency-Key,
and a repeat with the same key answers the first result (the same body, the header
Idempotent-Replayed: true); the same key for another request is refused (422)."""

from __future__ import annotations

import uuid

from tests.conftest import Person, new_person
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
        bad = http.post("/api/v1/accounts", json=new_person().registration(), headers={"Idempotency-Key": "x"})
        assert bad.status_code == 400 and bad.json()["code"] == "invalid_idempotency_key"
    assert len(system.mailbox.wait_for(person.email)) == 1
    assert system.mailbox.messages_to(other.email) == []
