"""The edge, probed from outside as an attacker would (security review, issue 9): paths
that a later normalisation would read differently, addresses and schemes a client claims,
oversized uploads, control characters, response headers. Same bodies on both modes."""

from __future__ import annotations

import contextlib
import http.client
import re
import socket
import time
import uuid
from urllib.parse import urlsplit

import httpx
import pytest

from shared.edge import edge_headers
from tests.conftest import Person, new_person
from tests.e2e.files_helpers import upload_pdf
from tests.e2e.helpers import log_in, register_and_confirm
from tests.e2e.test_identity_complete import NEW_PASSWORD, create_staff
from tests.harness import System


def raw_request(system: System, method: str, path: str, headers: dict[str, str] | None = None) -> int:
    """Send ``path`` exactly as written (httpx and curl would resolve dot segments first)."""
    parts = urlsplit(system.base_url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        conn.endheaders()
        answer = conn.getresponse()
        answer.read()
        return answer.status
    finally:
        conn.close()


def staff_session(system: System, http: httpx.Client) -> dict[str, str]:
    staff = new_person()
    create_staff(system, staff.login, staff.email)
    return log_in(http, staff.login, NEW_PASSWORD)


def consumer_with_file(system: System, http: httpx.Client, person: Person) -> tuple[dict[str, str], str]:
    register_and_confirm(system, http, person)
    auth = log_in(http, person.login, person.password)
    return auth, upload_pdf(http, auth, "паспорт.pdf")


@pytest.mark.parametrize(
    "template",
    [
        "/api/v1/application-types/../applications?limit=200",
        "/api/v1/application-types/%2e%2e/applications?limit=200",
        "/api/v1/application-types/%2E%2E/applications",
        "/api/v1/application-types/..%2fapplications",
        "/api/v1/application-types/.%2e/applications",
        "/api/v1/forms/../files/{file}",
        "/api/v1/forms/%2e%2e/files/{file}",
        "/api/v1/forms/..%2ffiles%2f{file}",
        "/api/v1/forms/..\\files\\{file}",
        "/api/v1/forms/..%5cfiles%5c{file}",
        "/api/v1/forms/./../files/{file}",
        "/api/v1/forms//../files/{file}",
        "/api/v1/forms/%252e%252e/files/{file}",
    ],
)
def test_no_anonymous_read_through_dot_segments(system: System, template: str) -> None:
    """Finding 1: after any login through the gateway (staff's here), a request with no
    token and no cookie must not reach another person's applications or files."""
    with system.client() as http:
        _, file_id = consumer_with_file(system, http, new_person())
        staff_session(system, http)  # the login whose cookie the gateway once replayed
    status = raw_request(system, "GET", template.format(file=file_id))
    assert status == 400, (template, status)
    # The plain anonymous paths answer 401, as they always did.
    assert raw_request(system, "GET", f"/api/v1/files/{file_id}") == 401
    assert raw_request(system, "GET", "/api/v1/applications?limit=200") == 401


def test_gateway_keeps_no_cookie_between_users(system: System, person: Person) -> None:
    """Finding 1, second cause: the gateway's internal client must not store the session
    cookie of a login answer and replay it on the next (anonymous) request."""
    with system.client() as http:
        register_and_confirm(system, http, person)
        log_in(http, person.login, person.password)
    # A fresh client without cookies: identity must see no session at all.
    with httpx.Client(base_url=system.base_url, timeout=30) as anonymous:
        assert anonymous.get("/api/v1/me").status_code == 401
        # The public catalog answers, and no Set-Cookie of someone else comes back.
        answer = anonymous.get("/api/v1/application-types")
        assert answer.status_code == 200 and "set-cookie" not in answer.headers


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/applications/%00",
        "/api/v1/applications/%0d%0a",
        "/api/v1/files/%00x",
        "/api/v1/applications/x%0aSet-Cookie:%20a=b",
        "/apply/%00",
        "/apply/%0d%0a",
        "/applications/%00/chat",
        "/api/v1/%ff",
    ],
)
def test_control_characters_in_paths_are_refused(system: System, path: str) -> None:
    """Finding 6: a control character in a forwarded path segment was a 500 (InvalidURL)."""
    with system.client() as http:
        person = new_person()
        register_and_confirm(system, http, person)
        auth = log_in(http, person.login, person.password)
    assert raw_request(system, "GET", path, auth) == 400


def test_huge_integers_are_refused_not_500(system: System, person: Person) -> None:
    """Finding 6: ``offset`` ≥ 2^63 on a list was an OverflowError (500)."""
    with system.client() as http:
        register_and_confirm(system, http, person)
        auth = log_in(http, person.login, person.password)
        staff = staff_session(system, http)
        for path, headers in (
            ("/api/v1/applications", auth),
            ("/api/v1/files", auth),
            ("/api/v1/admin/accounts", staff),
        ):
            for value in (2**63, 10**30, -1):
                answer = http.get(path, params={"offset": value}, headers=headers)
                assert answer.status_code == 422, (path, value, answer.status_code)
                assert answer.json()["code"] == "validation_error"


def test_client_claimed_address_and_scheme_are_ignored(system: System, person: Person) -> None:
    """Finding 2: X-Forwarded-For / X-Forwarded-Proto from a client are not believed —
    neither through the gateway nor by a service reached directly."""
    admin = new_person()
    create_staff(system, admin.login, admin.email, admin=True)
    forged = {"x-forwarded-for": "6.6.6.6", "x-forwarded-proto": "https", "x-lk-edge": "guess"}
    with system.client() as http:
        register_and_confirm(system, http, person)
        answer = http.post(
            "/api/v1/sessions", json={"login": person.login, "password": person.password}, headers=forged
        )
        assert answer.status_code == 201
        # A client cannot make the cookie Secure (or not) by claiming a scheme.
        assert "secure" not in answer.headers["set-cookie"].lower()
        me = http.get("/api/v1/me", headers={"authorization": f"Bearer {answer.json()['access_token']}"})
        account_id = me.json()["id"]
    identity = f"http://127.0.0.1:{system.env['LK_IDENTITY_PORT']}"
    with httpx.Client(base_url=identity, timeout=30) as direct:
        # Straight to the service port with forged headers: the peer address is what counts.
        answer = direct.post(
            "/api/v1/sessions", json={"login": person.login, "password": person.password}, headers=forged
        )
        assert answer.status_code == 201 and "secure" not in answer.headers["set-cookie"].lower()
    with system.client() as http:
        boss = log_in(http, admin.login, NEW_PASSWORD)
        history = http.get(f"/api/v1/admin/accounts/{account_id}/history", headers=boss).json()
    addresses = {item["ip"] for item in history}
    assert "6.6.6.6" not in addresses
    assert "127.0.0.1" in addresses


def test_edge_proof_is_what_services_believe(system: System, person: Person) -> None:
    """The edge's own headers (with the proof derived from the secret) are believed: this
    is how the gateway passes the client's address on, and how tests pose as addresses."""
    admin = new_person()
    create_staff(system, admin.login, admin.email, admin=True)
    with system.client() as http:
        register_and_confirm(system, http, person)
    identity = f"http://127.0.0.1:{system.env['LK_IDENTITY_PORT']}"
    proof = edge_headers(system.env["LK_SECRET_KEY"], "198.51.100.7", "https")
    with httpx.Client(base_url=identity, timeout=30) as direct:
        answer = direct.post(
            "/api/v1/sessions", json={"login": person.login, "password": person.password}, headers=proof
        )
        assert answer.status_code == 201
        assert "secure" in answer.headers["set-cookie"].lower()  # the edge said: https
        account_id = direct.get(
            "/api/v1/me", headers={"authorization": f"Bearer {answer.json()['access_token']}"}
        ).json()["id"]
    with system.client() as http:
        boss = log_in(http, admin.login, NEW_PASSWORD)
        history = http.get(f"/api/v1/admin/accounts/{account_id}/history", headers=boss).json()
    assert "198.51.100.7" in {item["ip"] for item in history}


def test_refused_upload_is_not_read(system: System, person: Person) -> None:
    """Finding 5: a declared 30 GB upload is refused at the edge at once, and the
    connection is closed instead of reading the body."""
    with system.client() as http:
        register_and_confirm(system, http, person)
        auth = log_in(http, person.login, person.password)
    parts = urlsplit(system.base_url)
    sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=10)
    try:
        sock.sendall(
            b"POST /api/v1/files HTTP/1.1\r\nHost: x\r\nContent-Length: 32212254720\r\n"
            b"Content-Type: multipart/form-data; boundary=x\r\n"
            + f"Authorization: {auth['Authorization']}\r\n\r\n".encode()
        )
        started = time.monotonic()
        sent = 0
        with pytest.raises(OSError):  # the server closes: sending fails (reset or broken pipe)
            while time.monotonic() - started < 20:
                sock.sendall(b"\0" * 65536)
                sent += 65536
        head = b""
        with contextlib.suppress(OSError):  # a reset may take the answer with it
            head = sock.recv(200)
    finally:
        sock.close()
    assert sent < 64 * 1024 * 1024, f"{sent} bytes were accepted before the refusal"
    if head:
        assert head.startswith(b"HTTP/1.1 413")


def test_api_answers_are_not_cached_sniffed_or_labelled(system: System, person: Person) -> None:
    """Finding 13: no-store and nosniff on API answers, no ``server: uvicorn``, no
    interactive docs loading scripts from a CDN, on the gateway or on any service."""
    with system.client() as http:
        register_and_confirm(system, http, person)
        auth = log_in(http, person.login, person.password)
        for path, headers in (("/api/v1/me", auth), ("/api/v1/application-types", {}), ("/api/v1/nope", {})):
            answer = http.get(path, headers=headers)
            assert answer.headers.get("cache-control") == "no-store", path
            assert answer.headers.get("x-content-type-options") == "nosniff", path
            assert "server" not in answer.headers, path
        assert "server" not in http.get("/").headers
        assert http.get("/api/v1/docs").status_code in (401, 404)
    for service in ("identity", "applications", "chat", "files", "notifier"):
        port = system.env[f"LK_{service.upper()}_PORT"]
        answer = httpx.get(f"http://127.0.0.1:{port}/api/v1/docs", timeout=10)
        assert answer.status_code == 404, service
        assert "server" not in answer.headers, service
        assert "cdn" not in answer.text.lower()


def test_unknown_routes_and_wrong_methods(system: System) -> None:
    """Wrong methods answer 405 with the route's real ``Allow``; unknown API paths 404."""
    with system.client() as http:
        answer = http.request("DELETE", "/api/v1/application-types")
        assert answer.status_code == 405 and answer.headers["allow"] == "GET"
        assert http.get(f"/api/v1/no-such-{uuid.uuid4().hex[:6]}").status_code == 404


def test_an_oversized_page_form_is_refused_with_a_page(system: System, person: Person) -> None:
    """A page form over its limit is refused at once, as a Russian page, not API JSON."""
    parts = urlsplit(system.base_url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        conn.putrequest("POST", "/apply/individual_15kw/new")
        conn.putheader("Content-Length", str(300 * 1024 * 1024))
        conn.putheader("Content-Type", "multipart/form-data; boundary=x")
        conn.endheaders()
        answer = conn.getresponse()
        body = answer.read().decode()
    finally:
        conn.close()
    assert answer.status == 413
    assert answer.getheader("content-type", "").startswith("text/html")
    assert "Слишком большой запрос" in body


def test_every_private_route_refuses_a_caller_without_a_session(system: System) -> None:
    """Behind the real stack's nginx no gateway checks the token first: each service does
    (shared/auth.py). Every operation of the published contract that the routing table does
    not call public answers 401 to a caller with no token and no cookie, on both modes."""
    from services.gateway.routes import is_public

    with system.client() as http:
        contract = http.get("/api/v1/openapi.json").json()
        refused = []
        for template, operations in contract["paths"].items():
            path = re.sub(r"\{[^/]+?\}", str(uuid.uuid4()), template)
            for method in operations:
                if method.upper() not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                    continue
                if is_public(method.upper(), path):
                    continue
                answer = http.request(method.upper(), path, json={})
                if answer.status_code != 401:
                    refused.append((method, template, answer.status_code))
    assert not refused, refused
