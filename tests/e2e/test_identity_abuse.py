"""Abuse of identity's public entry points (security review, issue 9), one body per mode:
lockout of the owner, concurrent guesses, mail and registration floods, the CSRF cookie
across login and logout. Distinct clients call identity directly with the edge's headers,
exactly as the gateway does."""

from __future__ import annotations

import concurrent.futures
import re
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from shared.edge import edge_headers
from tests.conftest import MODES, Person, new_person
from tests.e2e.helpers import mails_with, register_and_confirm, token_in
from tests.harness import System

NEW_PASSWORD = "Лампа-над-столом-1987!"
WRONG = "Wrong-1234567"
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


def fresh_address() -> str:
    b = uuid.uuid4().bytes
    return f"10.{b[0]}.{b[1]}.{b[2]}"


class Identity:
    """Identity's API as the gateway calls it, on behalf of any client address."""

    def __init__(self, system: System) -> None:
        self.secret = system.env["LK_SECRET_KEY"]
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{system.env['LK_IDENTITY_PORT']}", timeout=60)

    def post(self, path: str, address: str, body: dict[str, str]) -> httpx.Response:
        return self.http.post(path, json=body, headers=edge_headers(self.secret, address, "http"))

    def log_in(self, address: str, login: str, password: str) -> httpx.Response:
        return self.post("/api/v1/sessions", address, {"login": login, "password": password})

    def __enter__(self) -> Identity:
        return self

    def __exit__(self, *_: object) -> None:
        self.http.close()


# finding 3: a lockout is a denial of service on the owner --------------------------------
def test_failures_elsewhere_do_not_lock_the_owner_out_and_a_reset_forgives(
    system: System, person: Person
) -> None:
    limit = system.settings.login_max_failures
    with system.client() as http:
        register_and_confirm(system, http, person)
    attacker, owner = fresh_address(), fresh_address()
    with Identity(system) as identity:
        assert [identity.log_in(attacker, person.login, WRONG).status_code for _ in range(limit)] == [
            401
        ] * limit
        blocked = identity.log_in(attacker, person.login, person.password)
        assert blocked.status_code == 429 and blocked.json()["code"] == "too_many_attempts"
        assert 0 < int(blocked.headers["retry-after"]) <= system.settings.login_window
        # An unknown login gets exactly the same answers.
        ghost, elsewhere = "ghost_" + uuid.uuid4().hex[:8], fresh_address()
        ghosts = [identity.log_in(elsewhere, ghost, WRONG) for _ in range(limit + 1)]
        assert [a.status_code for a in ghosts] == [401] * limit + [429]
        assert ghosts[0].json() == identity.log_in(fresh_address(), person.login, WRONG).json()
        assert ghosts[-1].json()["code"] == "too_many_attempts"

        # The owner, from their own address, gets in (a little later, not never).
        assert identity.log_in(owner, person.login, person.password).status_code == 201

        # A password reset by the owner forgives the login everywhere, the attacker's address too.
        assert identity.post("/api/v1/password-reset", owner, {"email": person.email}).status_code == 202
        token = token_in(mails_with(system, person.email, "Смена пароля")[0])
        done = identity.post(
            "/api/v1/password-reset/confirm", owner, {"token": token, "new_password": NEW_PASSWORD}
        )
        assert done.status_code == 200, done.text
        assert identity.log_in(attacker, person.login, NEW_PASSWORD).status_code == 201


def test_a_successful_login_clears_its_address_failures(system: System, person: Person) -> None:
    limit = system.settings.login_max_failures
    with system.client() as http:
        register_and_confirm(system, http, person)
    address = fresh_address()
    with Identity(system) as identity:
        for _ in range(2):
            assert [identity.log_in(address, person.login, WRONG).status_code for _ in range(limit - 1)] == [
                401
            ] * (limit - 1)
            assert identity.log_in(address, person.login, person.password).status_code == 201


# finding 4: concurrent guesses must not pass the limit -----------------------------------
def test_concurrent_wrong_logins_stop_at_the_limit(system: System, person: Person) -> None:
    limit = system.settings.login_max_failures
    with system.client() as http:
        register_and_confirm(system, http, person)
    address = fresh_address()

    def guess(_: int) -> int:
        with Identity(system) as identity:
            return identity.log_in(address, person.login, WRONG).status_code

    with concurrent.futures.ThreadPoolExecutor(3 * limit) as pool:
        codes = list(pool.map(guess, range(3 * limit)))
    # Each 401 is one password check: never more than the limit, whatever the concurrency.
    assert 1 <= codes.count(401) <= limit, codes
    assert codes.count(401) + codes.count(429) == len(codes), codes
    with Identity(system) as identity:
        assert identity.log_in(address, person.login, person.password).status_code == 429
        assert identity.log_in(fresh_address(), person.login, person.password).status_code == 201


# finding 11: the CSRF cookie changes at login and at logout --------------------------------
def test_the_csrf_cookie_changes_at_page_login_and_logout(system: System, person: Person) -> None:
    with system.client() as http:
        register_and_confirm(system, http, person)
        http.cookies.clear()
        entry = http.get("/")
        before = http.cookies["lk_csrf"]
        assert CSRF_FIELD.findall(entry.text)[0] == before
        logged_in = http.post(
            "/login", data={"csrf": before, "login": person.login, "password": person.password}
        )
        assert logged_in.status_code == 303 and logged_in.headers["location"] == "/cabinet"
        after_login = http.cookies["lk_csrf"]
        assert after_login != before
        cabinet = http.get("/cabinet")
        assert cabinet.status_code == 200 and CSRF_FIELD.findall(cabinet.text)[0] == after_login
        logged_out = http.post("/logout", data={"csrf": after_login})
        assert logged_out.status_code == 303
        after_logout = http.cookies.get("lk_csrf")
        assert after_logout and after_logout not in (before, after_login)
        assert http.get("/cabinet").status_code == 303  # logged out


def test_the_csrf_cookie_changes_at_api_login_and_logout(system: System, person: Person) -> None:
    with system.client() as http:
        register_and_confirm(system, http, person)
        http.cookies.set("lk_csrf", "known-to-someone", domain="127.0.0.1")
        assert (
            http.post(
                "/api/v1/sessions", json={"login": person.login, "password": person.password}
            ).status_code
            == 201
        )
        issued = http.cookies["lk_csrf"]
        assert issued != "known-to-someone"
        out = http.delete("/api/v1/sessions/current", headers={"X-CSRF-Token": issued})
        assert out.status_code == 204
        assert http.cookies.get("lk_csrf") not in (issued, "known-to-someone")


# findings 7 and 8b: mail on request and registration, on a system with small limits --------
@pytest.fixture(scope="module", params=MODES)
def tight(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    sys_ = System.create(request.param, tmp_path_factory.mktemp(f"tight-{request.param}"))
    sys_.env.update(
        {"LK_MAIL_PER_ADDRESS_MAX": "2", "LK_MAIL_PER_CLIENT_MAX": "3", "LK_REGISTER_PER_CLIENT_MAX": "2"}
    )
    try:
        sys_.start()  # a start that fails stops what it started, too
        yield sys_
    finally:
        sys_.destroy()


def register(identity: Identity, person: Person, address: str | None = None) -> httpx.Response:
    return identity.post("/api/v1/accounts", address or fresh_address(), person.registration())


def test_mail_on_request_is_limited_per_address_and_per_client(tight: System) -> None:
    flooded, *others = people = [new_person() for _ in range(5)]
    with Identity(tight) as identity:
        assert all(register(identity, p).status_code == 201 for p in people)
        # One address, asked for from many clients: two mails, then silence.
        answers = [
            identity.post("/api/v1/accounts/resend-confirmation", fresh_address(), {"email": flooded.email})
            for _ in range(4)
        ]
        # One client, asking for many addresses: three, then silence (an unknown one counts too).
        client = fresh_address()
        answers += [
            identity.post("/api/v1/password-reset", client, {"email": p.email})
            for p in [others[0], new_person(), others[1], others[2]]
        ]
        assert {a.status_code for a in answers} == {202}
        assert len({a.text for a in answers[:4]}) == 1 and len({a.text for a in answers[4:]}) == 1
        # Requests are done in order: once this one's mail is out, every earlier one is decided.
        sentinel = identity.post("/api/v1/password-reset", fresh_address(), {"email": others[3].email})
        assert sentinel.status_code == 202
    assert len(mails_with(tight, others[3].email, "Смена пароля")) == 1
    assert len(tight.mailbox.wait_for(flooded.email, count=3)) == 3
    time.sleep(1.5)
    assert len(tight.mailbox.messages_to(flooded.email)) == 3  # registration + 2
    assert [len(mails_with(tight, p.email, "Смена пароля", count=0)) for p in others] == [1, 1, 0, 1]


def test_registration_is_limited_per_client(tight: System) -> None:
    address = fresh_address()
    with Identity(tight) as identity:
        assert [register(identity, new_person(), address).status_code for _ in range(2)] == [201, 201]
        late = new_person()
        refused = register(identity, late, address)
        assert refused.status_code == 429 and refused.json()["code"] == "too_many_requests"
        assert int(refused.headers["retry-after"]) > 0
        assert "Слишком много регистраций" in refused.json()["message"]
        assert register(identity, late).status_code == 201  # from another address
