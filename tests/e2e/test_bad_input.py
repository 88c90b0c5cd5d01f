"""Bad input on every endpoint of the first slice: a 4xx JSON error with a stable code
and a Russian message, never a 500, never a half-made account."""

from __future__ import annotations

import re

import pytest

from tests.conftest import Person, new_person
from tests.harness import System

CYRILLIC = re.compile("[а-яА-ЯёЁ]")


def _reg(**overrides: object) -> dict[str, object]:
    return {**new_person().registration(), **overrides}


CASES = [
    ("POST", "/api/v1/accounts", b'{"login": "abc",', 400, "malformed_json"),
    ("POST", "/api/v1/accounts", b"[]", 422, "validation_error"),
    ("POST", "/api/v1/accounts", _reg(login=12345), 422, "validation_error"),
    ("POST", "/api/v1/accounts", _reg(password=None), 422, "validation_error"),
    ("POST", "/api/v1/accounts", {"login": "only_login"}, 422, "validation_error"),
    ("POST", "/api/v1/accounts", _reg(login="x" * 2_000_000), 413, "payload_too_large"),
    ("POST", "/api/v1/accounts", _reg(login="x" * 65), 422, "validation_error"),
    ("POST", "/api/v1/accounts", _reg(login="<script>"), 422, "validation_error"),
    ("POST", "/api/v1/accounts", _reg(email="not-an-email"), 422, "validation_error"),
    ("POST", "/api/v1/accounts", _reg(password="short1"), 422, "weak_password"),
    ("POST", "/api/v1/accounts", _reg(password="password123456"), 422, "weak_password"),
    ("POST", "/api/v1/accounts", _reg(account_type="staff"), 422, "account_type_not_allowed"),
    ("POST", "/api/v1/accounts", _reg(account_type="admin"), 422, "account_type_not_allowed"),
    ("POST", "/api/v1/accounts", _reg(account_type=["consumer"]), 422, "validation_error"),
    ("POST", "/api/v1/accounts", _reg(is_admin=True), 422, "validation_error"),
    ("POST", "/api/v1/accounts/confirm-email", {"token": "garbage"}, 400, "invalid_token"),
    ("POST", "/api/v1/accounts/confirm-email", {"token": 5}, 422, "validation_error"),
    ("POST", "/api/v1/accounts/confirm-email", b"{", 400, "malformed_json"),
    ("POST", "/api/v1/accounts/resend-confirmation", {"email": "nope"}, 422, "validation_error"),
    (
        "POST",
        "/api/v1/sessions",
        {"login": "nobody_here", "password": "whatever-123"},
        401,
        "invalid_credentials",
    ),
    ("POST", "/api/v1/sessions", {"login": "", "password": ""}, 422, "validation_error"),
    ("POST", "/api/v1/sessions", b"login=a&password=b", 400, "malformed_json"),
    ("GET", "/api/v1/me", None, 401, "not_authenticated"),
    ("DELETE", "/api/v1/sessions/current", None, 401, "not_authenticated"),
    ("GET", "/api/v1/no-such-resource", None, 404, "not_found"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "code"), CASES)
def test_bad_input_is_a_clear_4xx(
    system: System, method: str, path: str, body: object, status: int, code: str
) -> None:
    with system.client() as http:
        if isinstance(body, bytes):
            answer = http.request(method, path, content=body, headers={"content-type": "application/json"})
        elif body is None:
            answer = http.request(method, path)
        else:
            answer = http.request(method, path, json=body)
    assert answer.status_code == status, answer.text[:300]
    payload = answer.json()
    assert payload["code"] == code
    assert CYRILLIC.search(payload["message"]), payload["message"]


@pytest.mark.parametrize("header", ["Bearer not-a-token", "Bearer", "Basic dXNlcjpwYXNz", "Bearer a.b.c"])
def test_forged_tokens_are_refused(system: System, header: str) -> None:
    with system.client() as http:
        answer = http.get("/api/v1/me", headers={"Authorization": header})
    assert answer.status_code == 401 and answer.json()["code"] == "not_authenticated"


def test_duplicates_leave_no_half_made_account(system: System, person: Person) -> None:
    with system.client() as http:
        assert http.post("/api/v1/accounts", json=person.registration()).status_code == 201
        same_login = http.post(
            "/api/v1/accounts", json={**new_person().registration(), "login": person.login.upper()}
        )
        assert same_login.status_code == 409 and same_login.json()["code"] == "login_taken"

        other = new_person()
        same_email = http.post(
            "/api/v1/accounts", json={**other.registration(), "email": person.email.upper()}
        )
        assert same_email.status_code == 409 and same_email.json()["code"] == "email_taken"
        # The refused registration reserved nothing: its login is still free.
        assert http.post("/api/v1/accounts", json=other.registration()).status_code == 201

        wrong = http.post("/api/v1/sessions", json={"login": person.login, "password": "Wrong-password-123"})
        unknown = http.post(
            "/api/v1/sessions", json={"login": "no_" + person.login, "password": "Wrong-password-123"}
        )
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.json() == unknown.json()
    # Only the accepted registrations were mailed.
    assert len(system.mailbox.wait_for(person.email)) == 1
