"""Identity complete, one body per mode: profile and display name, password change and
reset, role checks, throttling, enumeration, CSRF, revocation seen by another service."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
import uuid

import httpx
import pytest

from shared.edge import edge_headers
from tests.conftest import Person, new_person
from tests.e2e.helpers import link_in, lk_ops, log_in, mails_with, register_and_confirm, token_in
from tests.harness import ROOT, System

NEW_PASSWORD = "Лампа-над-столом-1987!"


def test_profile_sets_the_display_name(system: System, person: Person) -> None:
    with system.client() as http:
        register_and_confirm(system, http, person)
        auth = log_in(http, person.login, person.password)
        updated = http.patch("/api/v1/me", headers=auth, json={"first_name": "Иван", "last_name": "Петров"})
        assert updated.status_code == 200, updated.text
        assert updated.json()["display_name"] == "Иван Петров"
        me = http.get("/api/v1/me", headers=auth).json()
        assert (me["first_name"], me["last_name"], me["display_name"]) == ("Иван", "Петров", "Иван Петров")
        cabinet = http.get("/cabinet")
        assert "Иван Петров" in cabinet.text and person.login in cabinet.text


def test_hostile_names_are_data_or_refused(system: System, person: Person) -> None:
    with system.client() as http:
        register_and_confirm(system, http, person)
        auth = log_in(http, person.login, person.password)
        for value, code in (
            ("x" * 5000, "validation_error"),
            ("x" * 101, "invalid_name"),
            ("Ив\x00ан", "invalid_name"),
            ("Ив\u202eан", "invalid_name"),
            (["Иван"], "validation_error"),
        ):
            answer = http.patch("/api/v1/me", headers=auth, json={"first_name": value, "last_name": "Петров"})
            assert answer.status_code == 422 and answer.json()["code"] == code, (value, answer.text)
        assert http.get("/api/v1/me", headers=auth).json()["first_name"] == ""  # nothing stored half
        markup = '<script>alert("x")</script>'
        assert (
            http.patch(
                "/api/v1/me", headers=auth, json={"first_name": markup, "last_name": "<b>"}
            ).status_code
            == 200
        )
        assert http.get("/api/v1/me", headers=auth).json()["first_name"] == markup
        page = http.get("/cabinet").text
        assert markup not in page and "&lt;script&gt;" in page


def test_password_change(system: System, person: Person) -> None:
    with system.client() as http, system.client() as other:
        register_and_confirm(system, http, person)
        auth = log_in(http, person.login, person.password)
        other_auth = log_in(other, person.login, person.password)

        wrong = http.post(
            "/api/v1/me/password",
            headers=auth,
            json={"current_password": "not-my-password-1", "new_password": NEW_PASSWORD},
        )
        assert wrong.status_code == 400 and wrong.json()["code"] == "wrong_password"
        weak = http.post(
            "/api/v1/me/password",
            headers=auth,
            json={"current_password": person.password, "new_password": person.login + "12345"},
        )
        assert weak.status_code == 422 and weak.json()["code"] == "weak_password"

        changed = http.post(
            "/api/v1/me/password",
            headers=auth,
            json={"current_password": person.password, "new_password": NEW_PASSWORD},
        )
        assert changed.status_code == 200, changed.text
        assert http.get("/api/v1/me", headers=auth).status_code == 200  # this session stays
        assert other.get("/api/v1/me", headers=other_auth).status_code == 401  # the other ends

        old = http.post("/api/v1/sessions", json={"login": person.login, "password": person.password})
        assert old.status_code == 401
        log_in(http, person.login, NEW_PASSWORD)
    assert len(mails_with(system, person.email, "Пароль изменён")) == 1


def test_password_reset_by_email(system: System, person: Person) -> None:
    with system.client() as http:
        register_and_confirm(system, http, person)
        auth = log_in(http, person.login, person.password)

        known = http.post("/api/v1/password-reset", json={"email": person.email})
        unknown = http.post("/api/v1/password-reset", json={"email": "nobody-" + person.email})
        assert known.status_code == unknown.status_code == 202
        assert known.json() == unknown.json()

        mail = mails_with(system, person.email, "Смена пароля")[0]
        link = link_in(mail)
        assert link.startswith(system.base_url + "/") and "reset" in link and "token=" in link
        token = token_in(mail)
        weak = http.post("/api/v1/password-reset/confirm", json={"token": token, "new_password": "12345"})
        assert weak.status_code == 422  # refused, and the link still works
        done = http.post(
            "/api/v1/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD}
        )
        assert done.status_code == 200, done.text
        again = http.post(
            "/api/v1/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD + "x"}
        )
        assert again.status_code == 400 and again.json()["code"] == "invalid_token"
        assert http.get("/api/v1/me", headers=auth).status_code == 401  # every session ended
        assert (
            http.post(
                "/api/v1/sessions", json={"login": person.login, "password": person.password}
            ).status_code
            == 401
        )
        log_in(http, person.login, NEW_PASSWORD)
        # A confirmation link can never be used as a reset link.
        forged = http.post(
            "/api/v1/password-reset/confirm", json={"token": "AAAA.BBBB", "new_password": NEW_PASSWORD}
        )
        assert forged.status_code == 400
    assert len(mails_with(system, "nobody-" + person.email, "Смена пароля")) == 0


def _identity(system: System) -> httpx.Client:
    """Identity directly, as the gateway calls it, to act as distinct client addresses."""
    return httpx.Client(base_url=f"http://127.0.0.1:{system.env['LK_IDENTITY_PORT']}", timeout=30)


def _from(system: System, address: str) -> dict[str, str]:
    """What the gateway adds for a client at ``address`` (identity believes only the edge)."""
    return edge_headers(system.env["LK_SECRET_KEY"], address, "http")


def test_login_throttling_per_login_and_per_address(system: System, person: Person) -> None:
    with system.client() as http:
        register_and_confirm(system, http, person)
    address = _from(system, f"198.51.100.{uuid.uuid4().int % 250}")
    with _identity(system) as identity:
        for _ in range(system.settings.login_max_failures):
            bad = identity.post(
                "/api/v1/sessions", headers=address, json={"login": person.login, "password": "Wrong-1234567"}
            )
            assert bad.status_code == 401
        blocked = identity.post(
            "/api/v1/sessions", headers=address, json={"login": person.login, "password": person.password}
        )
        assert blocked.status_code == 429 and blocked.json()["code"] == "too_many_attempts"
        assert 0 < int(blocked.headers["retry-after"]) <= system.settings.login_window
        # Unknown logins are throttled the same way (no hint that they do not exist).
        ghost = "ghost_" + uuid.uuid4().hex[:8]
        answers = [
            identity.post(
                "/api/v1/sessions", headers=address, json={"login": ghost, "password": "Wrong-1234567"}
            )
            for _ in range(system.settings.login_max_failures + 1)
        ]
        assert [a.status_code for a in answers][-1] == 429

        # Per address: many logins from one address trip the address limit.
        flood = _from(system, f"203.0.113.{uuid.uuid4().int % 250}")
        codes = [
            identity.post(
                "/api/v1/sessions",
                headers=flood,
                json={"login": f"n{i}_{uuid.uuid4().hex[:6]}", "password": "Wrong-1234567"},
            ).status_code
            for i in range(system.settings.login_max_failures_per_ip + 1)
        ]
        assert codes[:-1] == [401] * system.settings.login_max_failures_per_ip and codes[-1] == 429


def test_wrong_password_and_unknown_login_look_alike(system: System, person: Person) -> None:
    with system.client() as http:
        register_and_confirm(system, http, person)
    with _identity(system) as identity:

        def attempt(login: str) -> tuple[float, httpx.Response]:
            address = _from(system, f"192.0.2.{uuid.uuid4().int % 250}")
            started = time.perf_counter()
            answer = identity.post(
                "/api/v1/sessions", headers=address, json={"login": login, "password": "Wrong-12345678"}
            )
            return time.perf_counter() - started, answer

        known = [attempt(person.login) for _ in range(4)]
        unknown = [attempt("nobody_" + uuid.uuid4().hex[:8]) for _ in range(4)]
    assert {a.status_code for _, a in known + unknown} == {401}
    assert len({a.text for _, a in known + unknown}) == 1
    # Both pay for one argon2 verification: same order of time (no early exit for unknown logins).
    ratio = statistics.median(t for t, _ in unknown) / statistics.median(t for t, _ in known)
    assert 0.33 < ratio < 3, ratio


def create_staff(system: System, login: str, email: str, *, admin: bool = False) -> str:
    args = [
        sys.executable,
        "-m",
        "shared.cli",
        "admin",
        "create-staff",
        "--login",
        login,
        "--email",
        email,
        "--password",
        NEW_PASSWORD,
        *(["--admin"] if admin else []),
    ]
    done = subprocess.run(args, env=system.env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_staff_accounts_and_roles(system: System, person: Person) -> None:
    staff, boss = new_person(), new_person()
    assert "роли: staff" in create_staff(system, staff.login, staff.email)
    create_staff(system, boss.login, boss.email, admin=True)
    with system.client() as http:
        register_and_confirm(system, http, person)
        consumer = log_in(http, person.login, person.password)
        staff_auth = log_in(http, staff.login, NEW_PASSWORD)
        admin_auth = log_in(http, boss.login, NEW_PASSWORD)

        me = http.get("/api/v1/me", headers=staff_auth).json()
        assert me["account_type"] == "staff" and me["roles"] == ["staff"]
        assert http.get("/api/v1/me", headers=consumer).json()["roles"] == ["consumer"]

        assert http.get("/api/v1/admin/accounts", headers=consumer).status_code == 403
        assert httpx.get(system.base_url + "/api/v1/admin/accounts").status_code == 401  # no cookie
        listing = http.get("/api/v1/admin/accounts", headers=staff_auth, params={"q": person.login})
        assert listing.status_code == 200
        assert [row["login"] for row in listing.json()["items"]] == [person.login]

        account_id = http.get("/api/v1/me", headers=consumer).json()["id"]
        path = f"/api/v1/admin/accounts/{account_id}/history"
        assert http.get(path, headers=staff_auth).status_code == 403
        history = http.get(path, headers=admin_auth)
        assert history.status_code == 200
        kinds = [item["type"] for item in history.json()]
        assert kinds[:3] == ["Registered", "EmailConfirmed", "SessionStarted"]
        assert all(item["ip"] == "127.0.0.1" for item in history.json())
        assert all("python-httpx" in item["user_agent"] for item in history.json())
        assert (
            http.get(f"/api/v1/admin/accounts/{uuid.uuid4()}/history", headers=admin_auth).status_code == 404
        )
    # Staff accounts are created confirmed: no confirmation e-mail.
    time.sleep(1)
    assert system.mailbox.messages_to(staff.email) == []


def test_logout_is_seen_by_another_service_within_a_second(system: System, person: Person) -> None:
    with system.client() as http:
        register_and_confirm(system, http, person)
        auth = log_in(http, person.login, person.password)
        # The gateway checks the token itself; files answers 404 for an unknown id.
        assert http.get(f"/api/v1/files/{uuid.uuid4()}", headers=auth).status_code == 404
        assert http.delete("/api/v1/sessions/current", headers=auth).status_code == 204
        deadline = time.monotonic() + 1.0
        while http.get(f"/api/v1/files/{uuid.uuid4()}", headers=auth).status_code != 401:
            assert time.monotonic() < deadline, "the revoked token still works after a second"
            time.sleep(0.05)


def test_cookie_writes_need_the_csrf_token(system: System, person: Person) -> None:
    with system.client() as http:
        register_and_confirm(system, http, person)
        log_in(http, person.login, person.password)  # the client now holds lk_session and lk_csrf
        body = {"first_name": "Анна", "last_name": "Смирнова"}
        refused = http.patch("/api/v1/me", json=body)
        assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
        wrong = http.patch("/api/v1/me", json=body, headers={"X-CSRF-Token": "guess"})
        assert wrong.status_code == 403
        ok = http.patch("/api/v1/me", json=body, headers={"X-CSRF-Token": http.cookies["lk_csrf"]})
        assert ok.status_code == 200
        # A page form without its token is refused too: back to the page with the reason.
        stale = http.post("/logout", data={})
        assert stale.status_code == 303 and stale.headers["location"] == "/cabinet"
        assert "Форма устарела" in http.get("/cabinet").text
        assert http.get("/api/v1/me").status_code == 200  # still logged in


def test_pages_send_protective_headers(system: System) -> None:
    with system.client() as http:
        answer = http.get("/")
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("body", [{"token": "x" * 600, "new_password": NEW_PASSWORD}, {"token": 1}, {}])
def test_reset_bad_input(system: System, body: dict[str, object]) -> None:
    with system.client() as http:
        answer = http.post("/api/v1/password-reset/confirm", json=body)
    assert answer.status_code == 422 and answer.json()["code"] == "validation_error"


def test_operator_tools_replay_and_audit(system: System, person: Person) -> None:
    with system.client() as http:
        register_and_confirm(system, http, person)
        log_in(http, person.login, person.password)
        account_id = http.get("/api/v1/me").json()["id"]

    def lk(*args: str) -> list[str]:
        return lk_ops(system, *args).splitlines()

    replayed = lk("replay", "identity", "--subject", account_id, "--idle", "3")
    types = [line.split('"type":"')[1].split('"')[0] for line in replayed]
    assert types == [
        "lk.identity.AccountRegistered.v1",
        "lk.identity.EmailConfirmed.v1",
        "lk.identity.SessionStarted.v1",
    ]
    audit = lk("audit", account_id)
    assert [line.split('"type": "')[1].split('"')[0] for line in audit] == [
        "Registered",
        "EmailConfirmed",
        "SessionStarted",
    ]
    assert any("relay" in line or "position" in line for line in lk("positions"))


def test_concurrent_logins_of_one_account_all_succeed(system: System, person: Person) -> None:
    import concurrent.futures

    with system.client() as http:
        register_and_confirm(system, http, person)

    def one(_: int) -> int:
        with system.client() as own:
            body = {"login": person.login, "password": person.password}
            return own.post("/api/v1/sessions", json=body).status_code

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(one, range(8)))
    assert codes == [201] * 8
