"""The real stack's nginx (services/gateway/edge_config.py), run for real: Debian's binary
(deploy/nginx.sh) with the generated configuration, in front of stub upstreams that answer
who they are and what they received. Every route of the routing table must reach the
service that :func:`services.gateway.routes.service_for` names; the path verdict must be the
Python edge's (:func:`services.gateway.edge.normal_path`); limits, headers and nginx's own
answers must be the services' words."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from hypothesis import given, settings
from hypothesis import strategies as st

from services.gateway.edge import normal_path
from services.gateway.edge_config import SOCKET_TIMEOUT, check, nginx_command, write_config
from services.gateway.routes import CHAT_RESOURCES, PAGE_UPLOAD_MAX, ROUTES, SERVICES, SLOW, service_for
from shared.cli import replica_names, serve_command
from shared.edge import ACCEL_HEADER, EDGE_HEADER, accel_key, edge_key
from shared.settings import Settings

pytestmark = pytest.mark.servers  # Debian's nginx, installed by deploy/nginx.sh (make infra-up)
SECRET = "edge-config-test-secret-0123456789abcdef"
UPSTREAMS = (*SERVICES, "notifier", "gateway")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Stub(BaseHTTPRequestHandler):
    """Answers 200 with JSON: which upstream it is, the raw path, the headers it received."""

    protocol_version = "HTTP/1.1"
    name = ""

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        body = json.dumps(
            {
                "service": self.name,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
            }
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        if self.headers.get("x-want-accel"):  # honoured for the files service only
            self.send_header("x-accel-redirect", "/_lk/unavailable/api")
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_DELETE = do_PATCH = _answer  # noqa: N815 - http.server's names

    def log_message(self, *_: object) -> None:
        pass


@dataclass
class Edge:
    url: str
    port: int
    settings: Settings
    prefix: Path


class _Quiet(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that went away mid-body (the refusal tests)


def start_stub(name: str) -> tuple[ThreadingHTTPServer, int]:
    handler = type(f"Stub_{name}", (_Stub,), {"name": name})
    server = _Quiet(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, int(server.server_address[1])


@contextmanager
def running_edge(var_dir: Path, **overrides: Any) -> Iterator[Edge]:
    """A real nginx with the generated configuration, in front of fresh stubs (chat: down)."""
    stubs = {name: start_stub(name) for name in UPSTREAMS if name != "chat"}
    ports = {f"{name}_port": port for name, (_, port) in stubs.items()}
    ports["chat_port"] = free_port()  # nobody listens: the chat is "down"
    port = free_port()
    values: dict[str, Any] = {
        "mode": "stack",
        "var_dir": var_dir,
        "secret_key": SECRET,
        "edge_port": port,
        "s3_endpoint": f"127.0.0.1:{stubs['files'][1]}",
        **ports,
        **overrides,
    }
    settings = Settings(**values)
    path = write_config(settings)
    proc = subprocess.Popen(
        nginx_command(settings, path.parent, "-g", "daemon off;"),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, "nginx did not listen"
                time.sleep(0.05)
        yield Edge(f"http://127.0.0.1:{port}", port, settings, path.parent)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        for server, _ in stubs.values():
            server.shutdown()


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    with running_edge(tmp_path_factory.mktemp("edge-var")) as running:
        yield running


def raw(edge: Edge, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """One request written byte for byte; (status, headers, body) of the answer."""
    with socket.create_connection(("127.0.0.1", edge.port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
    return int(lines[0].split()[1]), headers, body


def get(
    edge: Edge, path: str, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    return raw(
        edge, f"{method} {path} HTTP/1.1\r\nHost: lk.test\r\n{extra}Connection: close\r\n\r\n".encode()
    )


def answered_by(edge: Edge, path: str, method: str = "GET") -> str:
    status, headers, body = get(edge, path, method)
    if status == 200 and headers.get("content-type") == "application/json":
        return str(json.loads(body)["service"])
    return (
        f"{status}:{json.loads(body)['code'] if headers.get('content-type') == 'application/json' else '-'}"
    )


def test_the_config_passes_nginx_t_and_holds_the_proof_privately(edge: Edge) -> None:
    result = check(edge.settings, edge.prefix)
    assert result.returncode == 0, result.stderr
    config = edge.prefix / "nginx.conf"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert edge_key(SECRET) in config.read_text()
    assert "proxy_cookie" not in config.read_text()  # nginx keeps no cookies, and rewrites none


def route_samples() -> list[str]:
    paths = [
        "/api/v1/openapi.json",
        "/",
        "/apply/individual_15kw/new",
        "/payments/import",
        "/static/style.css",
    ]
    for key in ROUTES:
        paths += [f"/api/v1/{key}", f"/api/v1/{key}/", f"/api/v1/{key}/x-1", f"/api/v1/{key}/x-1/y"]
    for resource in CHAT_RESOURCES:
        paths += [f"/api/v1/applications/a-1/{resource}", f"/api/v1/applications/a-1/{resource}/x"]
    paths += [
        "/api/v1/forms/f-1/versions",
        "/api/v1/applications/a-1/documents",
        "/api/v1/admin/other",
        "/api/v1/adminx",
        "/api/v1/mex",
        "/api/v1/no-such-route",
        "/api/v1/",
        *SLOW,
    ]
    return paths


@pytest.mark.parametrize("path", route_samples())
def test_every_route_reaches_the_service_that_owns_it(edge: Edge, path: str) -> None:
    if path == "/api/v1/openapi.json" or not path.startswith("/api/v1/"):
        expected = "gateway"
    else:
        owner = service_for(path)
        expected = "503:service_unavailable" if owner == "chat" else owner or "404:not_found"
    assert answered_by(edge, path) == expected
    assert answered_by(edge, path, "POST") == expected


def test_the_chat_socket_goes_to_the_gateway_upgraded(edge: Edge) -> None:
    status, _, body = get(
        edge,
        "/api/v1/applications/a-1/chat/ws",
        headers={"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13"},
    )
    seen = json.loads(body)
    assert status == 200 and seen["service"] == "gateway"
    assert seen["headers"]["upgrade"] == "websocket" and seen["headers"]["connection"] == "upgrade"
    config = (edge.prefix / "nginx.conf").read_text()
    assert f"proxy_read_timeout {int(SOCKET_TIMEOUT)}s;" in config


def test_slow_routes_wait_longer(edge: Edge) -> None:
    config = (edge.prefix / "nginx.conf").read_text()
    for path, seconds in SLOW.items():
        block = config.split(f"location = {path} {{", 1)[1].split("}", 1)[0]
        assert f"proxy_read_timeout {int(seconds)}s;" in block
    assert config.count("proxy_read_timeout 30s;") > len(ROUTES)


def test_what_a_client_claims_is_replaced_by_the_edge_record(edge: Edge) -> None:
    forged = {
        "X-LK-Edge": "guess",
        "X-Forwarded-For": "6.6.6.6",
        "X-Forwarded-Proto": "https",
        "Forwarded": "for=6.6.6.6",
        "X-Real-IP": "6.6.6.6",
        "X-LK-Accel": "guess",
    }
    for path, accel in (("/api/v1/me", False), ("/api/v1/files/x", True), ("/", False)):
        status, headers, body = get(edge, path, headers=forged)
        seen = json.loads(body)["headers"]
        assert status == 200 and "server" not in headers
        assert seen[EDGE_HEADER] == edge_key(SECRET)
        assert seen["x-forwarded-for"] == "127.0.0.1" and seen["x-forwarded-proto"] == "http"
        assert "forwarded" not in seen and "x-real-ip" not in seen
        assert seen.get(ACCEL_HEADER) == (accel_key(SECRET) if accel else None)


def test_only_the_files_service_redirects_inside_nginx(edge: Edge) -> None:
    want = {"x-want-accel": "1"}  # the stub then answers with X-Accel-Redirect to a 503 of nginx
    assert get(edge, "/api/v1/files/x", headers=want)[0] == 503
    for path, service in (
        ("/api/v1/me", "identity"),
        ("/", "gateway"),
        ("/api/v1/applications/x", "applications"),
    ):
        status, _, body = get(edge, path, headers=want)
        assert status == 200 and json.loads(body)["service"] == service


def test_a_declared_oversized_upload_is_not_read(edge: Edge) -> None:
    """As the Python edge: refused by its Content-Length, and the connection is closed rather
    than the body read and thrown away."""
    with socket.create_connection(("127.0.0.1", edge.port), timeout=10) as sock:
        sock.sendall(b"POST /api/v1/files HTTP/1.1\r\nHost: x\r\nContent-Length: 32212254720\r\n\r\n")
        sent = 0
        started = time.monotonic()
        with pytest.raises(OSError):
            while time.monotonic() - started < 10:
                sock.sendall(b"\0" * 65536)
                sent += 65536
    assert sent < 64 * 1024 * 1024, sent


@pytest.mark.parametrize(
    ("path", "declared", "page"),
    [
        ("/api/v1/me", 64 * 1024 + 1, False),
        ("/api/v1/payments/import", 2 * 1024 * 1024 + 1, False),
        ("/api/v1/files", 25 * 1024 * 1024 + 64 * 1024 + 1, False),
        ("/api/v1/forms/f-1/versions", 25 * 1024 * 1024 + 64 * 1024 + 1, False),
        ("/account", 64 * 1024 + 1, True),
        ("/apply/individual_15kw/new", PAGE_UPLOAD_MAX + 1, True),
    ],
)
def test_bodies_over_the_route_limit_are_refused_in_the_services_words(
    edge: Edge, path: str, declared: int, page: bool
) -> None:
    request = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {declared}\r\n\r\n".encode()
    status, headers, body = raw(edge, request)
    assert status == 413
    if page:
        assert headers["content-type"].startswith("text/html") and "Слишком большой запрос" in body.decode()
    else:
        assert headers["content-type"] == "application/json"
        assert json.loads(body) == {"code": "payload_too_large", "message": "Слишком большой запрос."}
    # At the limit itself the route takes the body (the service counts it exactly).
    ok = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {declared - 1}\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", edge.port), timeout=10) as sock:
        sock.sendall(ok)
        sock.sendall(b"\0" * min(declared - 1, 1024))
        sock.settimeout(0.5)
        with pytest.raises(TimeoutError):  # still reading the body, not refusing it
            sock.recv(100)


def test_a_service_that_is_down_answers_503_with_retry_after(edge: Edge) -> None:
    status, headers, body = get(edge, "/api/v1/applications/a-1/messages")
    assert status == 503 and headers["retry-after"] == "5"
    assert json.loads(body)["code"] == "service_unavailable"


BAD = [
    "/api/v1/application-types/../applications?limit=200",
    "/api/v1/application-types/%2e%2e/applications",
    "/api/v1/forms/..%2ffiles%2fx",
    "/api/v1/forms/..\\files\\x",
    "/api/v1/forms/./../files/x",
    "/api/v1/forms//../files/x",
    "/api/v1/forms/%252e%252e/files/x",
    "/api/v1/applications/%00",
    "/api/v1/applications/x%0aSet-Cookie:%20a=b",
    "/api/v1/%ff",
    "/api/v1/me/.",
    "/api/v1//me",
    "/apply/%00",
    "/applications/%00/chat",
    "/%61pi/v1/me",
]


@pytest.mark.parametrize("path", BAD)
def test_paths_not_in_normal_form_are_refused_as_the_python_edge_does(edge: Edge, path: str) -> None:
    assert normal_path(path.split("?")[0].encode()) is None
    status, headers, body = get(edge, path)
    assert status == 400
    api = path.startswith(("/api/", "/%61pi/"))
    if api:
        assert json.loads(body) == {"code": "bad_path", "message": "Некорректный адрес запроса."}
    else:
        assert headers["content-type"].startswith("text/html") and "Некорректный адрес" in body.decode()


PATH_CHARS = st.sampled_from([*"/.%aeE2f5c0;:@-_~!$&'()*+,=#é\\", "%2e", "%2f", "/..", "/.", "//", "\x7f"])


@settings(max_examples=300, deadline=None)
@given(tail=st.lists(PATH_CHARS, max_size=12).map("".join), query=st.booleans())
def test_nginx_and_the_python_edge_never_disagree_on_a_path(edge: Edge, tail: str, query: bool) -> None:
    raw_path = ("/api/v1/me" + tail).encode()
    target = raw_path + (b"?a=%2e%2e/b" if query else b"")
    status, _, body = raw(edge, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    if normal_path(raw_path) is None:
        assert status == 400, (raw_path, status)
        assert json.loads(body)["code"] == "bad_path"
    elif service_for(raw_path.decode()) is None:
        assert status == 404 and json.loads(body)["code"] == "not_found", (raw_path, status)
    else:
        assert status == 200, (raw_path, status, body[:200])
        seen = json.loads(body)
        assert seen["service"] == "identity"
        assert seen["path"].encode() == target  # passed on exactly as it came


def test_behind_a_trusted_proxy_nginx_believes_it_as_the_python_edge_does(tmp_path: Path) -> None:
    """LK_TRUSTED_PROXIES: the right-most address of X-Forwarded-For that is not a trusted
    proxy (realip, recursive), and the proxy's X-Forwarded-Proto; the client's own are not."""
    with running_edge(tmp_path, trusted_proxies=["127.0.0.1", "10.0.0.0/8"]) as trusted:
        _, _, body = get(
            trusted,
            "/api/v1/me",
            headers={"X-Forwarded-For": "6.6.6.6, 203.0.113.9, 10.1.2.3", "X-Forwarded-Proto": "https"},
        )
        seen = json.loads(body)["headers"]
        assert seen["x-forwarded-for"] == "203.0.113.9" and seen["x-forwarded-proto"] == "https"
        assert seen[EDGE_HEADER] == edge_key(SECRET)


def test_the_python_edge_keeps_the_record_of_nginx_and_only_of_nginx() -> None:
    """The gateway behind nginx: a request with the proof keeps nginx's record of the client;
    without it (a client at the gateway's port), what the client claimed is replaced."""
    from starlette.types import Message, Receive, Scope, Send

    from services.gateway.edge import Edge as PythonEdge

    seen: list[dict[bytes, bytes]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(dict(scope["headers"]))

    settings = Settings(secret_key=SECRET)
    python_edge = PythonEdge(app, settings)

    async def nothing() -> Message:
        return {"type": "http.request"}

    async def ignore(message: Message) -> None:
        pass

    record = [
        (b"x-lk-edge", edge_key(SECRET).encode()),
        (b"x-forwarded-for", b"198.51.100.7"),
        (b"x-forwarded-proto", b"https"),
    ]
    forged = [(b"x-lk-edge", b"guess"), (b"x-forwarded-for", b"6.6.6.6"), (b"x-forwarded-proto", b"https")]
    for headers in (record, forged):
        scope = {
            "type": "http",
            "path": "/",
            "raw_path": b"/",
            "headers": headers,
            "client": ("127.0.0.1", 5),
            "scheme": "http",
        }
        asyncio.run(python_edge(scope, nothing, ignore))
    assert seen[0][b"x-forwarded-for"] == b"198.51.100.7" and seen[0][b"x-forwarded-proto"] == b"https"
    assert seen[1][b"x-forwarded-for"] == b"127.0.0.1" and seen[1][b"x-forwarded-proto"] == b"http"
    assert seen[1][b"x-lk-edge"] == edge_key(SECRET).encode()


def test_docker_compose_runs_the_same_edge() -> None:
    """docker-compose.yml (not run on this machine): an nginx service from the same image
    (`lk edge`) publishes the public port, and every upstream of the configuration has an
    address there, the gateway's included."""
    import yaml

    compose = yaml.safe_load((Path(__file__).resolve().parents[2] / "docker-compose.yml").read_text())
    edge = compose["services"]["edge"]
    assert edge["entrypoint"] == ["lk", "edge"] and edge["ports"] == ["127.0.0.1:8000:8000"]
    urls = json.loads(edge["environment"]["LK_SERVICE_URLS"])
    assert set(urls) == set(UPSTREAMS)
    settings = Settings(mode="stack", service_urls=urls)
    assert all("ports" not in compose["services"][name] for name in UPSTREAMS)
    assert settings.port_of("gateway") == int(urls["gateway"].rsplit(":", 1)[1])


def test_every_replica_is_an_upstream_server_and_a_dead_one_is_passed_over(tmp_path: Path) -> None:
    """``LK_REPLICAS``: nginx has every replica's address; requests go round them, and one
    whose process is gone (nothing listens) is passed over, a POST included (never sent to it)."""
    (first, first_port), (second, second_port) = start_stub("identity"), start_stub("identity#1")
    try:
        both = {"identity": [first_port, second_port]}
        with running_edge(tmp_path / "up", replicas=2, identity_port=first_port, replica_ports=both) as edge:
            config = (edge.prefix / "nginx.conf").read_text()
            assert (
                f"server 127.0.0.1:{first_port};" in config and f"server 127.0.0.1:{second_port};" in config
            )
            assert {answered_by(edge, "/api/v1/me") for _ in range(8)} == {"identity", "identity#1"}
        down = free_port()
        one = {"identity": [down, second_port]}
        with running_edge(tmp_path / "down", replicas=2, identity_port=down, replica_ports=one) as edge:
            answers = [answered_by(edge, "/api/v1/me", method) for method in ("GET", "POST") * 3]
            assert answers == ["identity#1"] * 6
    finally:
        first.shutdown()
        second.shutdown()


def test_replica_ports_follow_the_service_port_chat_included() -> None:
    settings = Settings(mode="stack", replicas=3)
    assert settings.ports_of("identity") == [8101, 8111, 8121]
    assert settings.ports_of("gateway") == [8100, 8110, 8120]
    assert settings.ports_of("chat") == [8103, 8113, 8123]  # the store decides between them
    assert Settings(mode="embedded", replicas=3).ports_of("identity") == [8101]
    with pytest.raises(ValueError, match="names 1 ports"):
        Settings(mode="stack", replicas=2, replica_ports={"files": [9000]}).ports_of("files")
    # What lk run-stack starts: every replica by name, and the command of each.
    names = replica_names(Settings(mode="stack", replicas=2), ("identity", "chat", "gateway"))
    assert names == ["identity", "identity#1", "chat", "chat#1", "gateway", "gateway#1"]
    assert [serve_command(n) for n in ("identity", "identity#1", "edge")] == [
        ["serve", "identity"],
        ["serve", "identity", "--replica", "1"],
        ["edge"],
    ]


def test_nginx_closes_an_idle_upstream_connection_before_the_service_does(edge: Edge) -> None:
    """A service that closed an idle connection just as nginx sent a POST on it would make a
    502 nginx does not retry: the services keep idle connections longer than nginx does."""
    from shared.cli import service_config
    from shared.edge import UPSTREAM_IDLE

    config = (edge.prefix / "nginx.conf").read_text()
    upstreams = [(n, b) for n, b in re.findall(r"upstream (\S+) \{(.*?)\}", config, re.S) if "s3" not in n]
    assert len(upstreams) >= 5 and all(f"keepalive_timeout {UPSTREAM_IDLE}s;" in b for _, b in upstreams)
    served = service_config("identity", edge.settings, app=FastAPI())
    assert served.timeout_keep_alive > UPSTREAM_IDLE
