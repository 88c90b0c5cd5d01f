"""The first slice, end to end, as one body on both modes: register, get the e-mail,
confirm, log in, see yourself, log out."""

from __future__ import annotations

from tests.conftest import Person
from tests.e2e.helpers import link_in, read_events, token_in
from tests.harness import System


def test_register_confirm_login_logout(system: System, person: Person) -> None:
    with system.client() as http:
        created = http.post("/api/v1/accounts", json=person.registration())
        assert created.status_code == 201, created.text
        account = created.json()
        assert account["login"] == person.login and account["email_confirmed"] is False

        early = http.post("/api/v1/sessions", json={"login": person.login, "password": person.password})
        assert early.status_code == 403
        assert early.json()["code"] == "email_not_confirmed"

        mails = system.mailbox.wait_for(person.email)
        assert len(mails) == 1
        link = link_in(mails[0])
        assert link.startswith(system.base_url + "/") and "confirm" in link and "token=" in link
        assert "Подтвердите" in mails[0].subject
        assert link in mails[0].html

        page = http.get(link.removeprefix(system.base_url))
        assert page.status_code == 200 and "Подтвердить" in page.text

        confirmed = http.post("/api/v1/accounts/confirm-email", json={"token": token_in(mails[0])})
        assert confirmed.status_code == 200, confirmed.text
        again = http.post("/api/v1/accounts/confirm-email", json={"token": token_in(mails[0])})
        assert again.status_code == 409 and again.json()["code"] == "already_confirmed"

        session = http.post("/api/v1/sessions", json={"login": person.login, "password": person.password})
        assert session.status_code == 201, session.text
        body = session.json()
        assert body["token_type"] == "bearer" and body["expires_in"] > 0
        cookie = session.headers["set-cookie"]
        assert "HttpOnly" in cookie and "lk_session=" in cookie
        bearer = {"Authorization": f"Bearer {body['access_token']}"}

        me = http.get("/api/v1/me", headers=bearer)
        assert me.status_code == 200
        assert me.json()["login"] == person.login
        assert me.json()["account_type"] == "consumer"
        assert me.json()["display_name"] == person.login
        # The browser's cookie works too (the client kept it).
        assert http.get("/api/v1/me").json()["id"] == account["id"]

        assert http.delete("/api/v1/sessions/current", headers=bearer).status_code == 204
        gone = http.get("/api/v1/me", headers=bearer)
        assert gone.status_code == 401 and gone.json()["code"] == "not_authenticated"

    events = read_events(system, "identity", account["id"], expect=4)
    types = [e.type.split(".")[2] for e in events]
    assert types == ["AccountRegistered", "EmailConfirmed", "SessionStarted", "SessionEnded"]
    assert [e.sequence for e in events] == sorted(e.sequence for e in events)
    assert events[0].data["login"] == person.login and "password_hash" not in events[0].data
    # Still exactly one e-mail: confirming and logging in send nothing.
    assert len(system.mailbox.messages_to(person.email)) == 1


def test_resend_confirmation_replaces_the_link(system: System, person: Person) -> None:
    with system.client() as http:
        assert http.post("/api/v1/accounts", json=person.registration()).status_code == 201
        first = system.mailbox.wait_for(person.email)[0]

        unknown = http.post("/api/v1/accounts/resend-confirmation", json={"email": "nobody-" + person.email})
        known = http.post("/api/v1/accounts/resend-confirmation", json={"email": person.email})
        # The answer does not tell whether an address is registered.
        assert unknown.status_code == known.status_code == 202
        assert unknown.json() == known.json()

        mails = system.mailbox.wait_for(person.email, count=2)
        assert len(mails) == 2
        second = next(m for m in mails if m.message_id != first.message_id)
        stale = http.post("/api/v1/accounts/confirm-email", json={"token": token_in(first)})
        assert stale.status_code == 400 and stale.json()["code"] == "invalid_token"
        fresh = http.post("/api/v1/accounts/confirm-email", json={"token": token_in(second)})
        assert fresh.status_code == 200
