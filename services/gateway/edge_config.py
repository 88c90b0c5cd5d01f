"""The real stack's edge: nginx, with its configuration generated from the routing table
(:mod:`services.gateway.routes`), so the two can never tell a different story.

nginx receives every request from outside and sends ``/api/v1/*`` straight to the service
that owns it (upstreams with keepalive), the pages, the merged contract and the chat's
socket to the gateway. It decides what the Python edge (:mod:`services.gateway.edge`)
decides, in the same words:

- **the path**: a ``$request_uri`` whose path is not in the normal form that
  :func:`services.gateway.edge.normal_path` accepts answers 400 ``bad_path`` (JSON under
  ``/api/``, a page elsewhere) before any location is chosen; so nginx's own normalisation
  (used to match locations) and the raw URI it passes on are always the same path;
- **the client**: whatever a client sent in ``X-LK-Edge``, ``X-Forwarded-*``, ``Forwarded``,
  ``X-Real-IP`` is replaced by nginx's own record (the peer, or behind
  ``LK_TRUSTED_PROXIES`` what the realip module derives) with the edge's proof;
- **the body size** per route (``client_max_body_size``), 413 with the services' own JSON;
  uploads stream (no request buffering); timeouts of 30 s, longer for slow routes;
- **downloads**: with ``X-LK-Accel`` (a second proof only nginx sends) the files service
  answers a download with ``X-Accel-Redirect`` to a presigned S3 URL, and nginx streams the
  bytes from the S3 server itself (``/_lk/s3/``, internal).

The file holds the edge's proof (derived from the platform secret): it is written 0600.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import typer

from services.gateway.routes import (
    API,
    CHAT_RESOURCES,
    MULTIPART_OVERHEAD,
    PAGE_UPLOAD_MAX,
    PAGE_UPLOADS,
    ROUTES,
    SERVICES,
    SLOW,
    STATEMENTS,
    UPLOADS,
    body_limit,
    service_for,
)
from shared.edge import ACCEL_HEADER, ACCEL_S3, EDGE_HEADER, UPSTREAM_IDLE, accel_key, edge_key
from shared.http import STATUS_TEXT, error_body
from shared.middleware import refused_page
from shared.settings import Settings

CONFIG = "nginx.conf"
TIMEOUT = 30.0  # seconds, as the gateway's proxy waited
CONNECT_TIMEOUT = 2.0
SOCKET_TIMEOUT = 3600.0  # the chat's socket: the server pings every 20 s
KEEPALIVE = 32  # idle connections kept to each upstream per worker
# ACCEL_S3 + <sha256>/<bucket>/<key>?<presigned query>: the ETag, then the S3 request
ACCEL_LOCATION = rf"^{ACCEL_S3}(?<lk_etag>[0-9a-f]{{64}})/(?<lk_object>.+)$"
CHAT_SOCKET = r"^/api/v1/applications/[^/]+/chat/ws$"
# The characters of a normal path segment (services.gateway.edge._SAFE_PATH), and the path
# in normal form written so that no two ways of matching exist (no nested repetition).
_SEGMENT = r"[A-Za-z0-9\-._~!$&'()*+,;=:@]"
NORMAL_URI = rf"^/(?:{_SEGMENT}+/)*{_SEGMENT}*(?:\?|$)"
DOT_SEGMENT = r"^[^?]*/\.\.?(?:[/?]|$)"
# The Python edge answers JSON when the percent-decoded path starts with /api/; read from the
# request line, which nginx has even for a request it refused while parsing the path.
API_PREFIX_RAW = r"^[^ ]+ /(?:a|%61)(?:p|%70)(?:i|%69)(?:/|%2[fF])"

UNAVAILABLE = error_body("service_unavailable", "Сервис временно недоступен, попробуйте через минуту.")
BAD_PATH = error_body("bad_path", "Некорректный адрес запроса.")
NOT_FOUND = error_body("not_found", "Не найдено.")
BAD_PATH_PAGE = (
    "<!doctype html><html lang=ru><meta charset=utf-8><title>Некорректный адрес — Личный кабинет ТП"
    "</title><h1>Некорректный адрес</h1><p>Такой страницы нет. <a href=/>На главную</a></p></html>"
)
UNAVAILABLE_PAGE = (
    '<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>Сервис недоступен — Личный '
    'кабинет ТП</title><meta http-equiv="refresh" content="5"></head><body><main id="main"><h1>Сервис '
    'временно недоступен</h1><p role="status">Страница обновится сама через несколько секунд.</p>'
    "</main></body></html>"
)


def _quoted(text: str) -> str:
    """A string as one nginx argument (single quotes; ``$`` would be read as a variable)."""
    if "$" in text:
        raise ValueError(f"a literal with $ cannot be written: {text!r}")
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _regex(pattern: str) -> str:
    """A regex as one nginx argument: nginx keeps a backslash before any other character."""
    if '"' in pattern or re.search(r"\\[ntr'\"]", pattern.replace("\\\\", "")):
        raise ValueError(f"cannot quote {pattern!r}")
    return '"' + pattern.replace("\\\\", "\\\\\\\\") + '"'


def _json(body: dict[str, object]) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def _address(url: str) -> str:
    """``host:port`` of a service URL (``http://127.0.0.1:8101`` → ``127.0.0.1:8101``)."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"


def _seconds(value: float) -> str:
    return f"{int(value)}s"


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.depth = 0

    def __call__(self, line: str = "") -> None:
        self.lines.append("    " * self.depth + line if line else "")

    def open(self, head: str) -> None:
        self(head + " {")
        self.depth += 1

    def close(self) -> None:
        self.depth -= 1
        self("}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def upstream_of(service: str) -> str:
    return f"lk_{service}"


class EdgeConfig:
    """The configuration of one system's nginx, from its settings."""

    def __init__(self, settings: Settings, prefix: Path) -> None:
        self.settings = settings
        self.prefix = prefix.resolve()
        self.edge = edge_key(settings.secret())
        self.accel = accel_key(settings.secret())
        self.trusted = [t.strip() for t in settings.trusted_proxies if t.strip()]
        self.w = _Writer()

    def addresses(self, service: str) -> list[str]:
        """Every replica of ``service`` (``lk run-stack`` with ``LK_REPLICAS``): nginx spreads
        requests over them and passes one that fails to the next. A service reached by name
        (containers: ``LK_SERVICE_URLS``) is one line; nginx resolves every address of it."""
        return [_address(url) for url in self.settings.urls_of(service)]

    # the whole file ---------------------------------------------------------------------
    def render(self) -> str:
        w = self.w
        w("# Generated by `lk edge-config` from services/gateway/routes.py: do not edit.")
        w("# It holds the edge's proof (X-LK-Edge): keep it 0600.")
        module = "/usr/lib/nginx/modules/ngx_http_headers_more_filter_module.so"
        w(f"load_module {module};")
        if os.geteuid() == 0:  # the workers never run as root
            w("user nobody nogroup;")
        w("worker_processes auto;")
        w(f"pid {self.prefix / 'nginx.pid'};")
        w(f"error_log {self.prefix / 'error.log'} warn;")
        w("events { worker_connections 4096; }")
        w.open("http")
        self.http_settings()
        self.maps()
        for service in (*SERVICES, "gateway"):
            w.open(f"upstream {upstream_of(service)}")
            for address in self.addresses(service):
                w(f"server {address};")
            w(f"keepalive {KEEPALIVE};")
            w(f"keepalive_timeout {UPSTREAM_IDLE}s;")
            w.close()
        w.open(f"upstream {upstream_of('s3')}")
        w(f"server {self.settings.s3_endpoint};")
        w(f"keepalive {KEEPALIVE};")
        w.close()
        self.server()
        w.close()
        return w.text()

    def http_settings(self) -> None:
        w = self.w
        w("default_type application/octet-stream;")
        w("server_tokens off;")
        w("more_clear_headers Server;")  # no `Server` at all (headers-more module)
        w("charset off;")
        w("merge_slashes on;")  # only for matching: a path with // is refused before it
        w("ignore_invalid_headers on;")
        w("underscores_in_headers off;")
        w("sendfile off;")
        w("tcp_nodelay on;")
        w("keepalive_timeout 75s;")
        w("keepalive_requests 10000;")
        w("client_header_timeout 30s;")
        w("client_body_timeout 60s;")
        w("send_timeout 60s;")
        # A refused body is not read on: the connection closes, as the Python edge does.
        w("lingering_close off;")
        w("lingering_time 0;")  # nor is a body refused by its declared length read and discarded
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            w(f"{kind}_temp_path {self.prefix / 'tmp' / kind};")
        w(f"client_body_buffer_size {self.settings.max_body_bytes};")  # small bodies stay in memory
        # Answers stream through memory at the client's pace; never spooled to disk.
        w("proxy_buffering on;")
        w("proxy_buffer_size 64k;")
        w("proxy_buffers 64 64k;")
        w("proxy_busy_buffers_size 1m;")
        w("proxy_max_temp_file_size 0;")
        w("proxy_redirect off;")
        w("proxy_intercept_errors off;")
        w("gzip off;")
        # No query strings in the log: the chat's socket may carry ?access_token=.
        w("log_format lk '$remote_addr [$time_iso8601] \"$request_method $uri $server_protocol\" '")
        w("              '$status $body_bytes_sent $request_length ${request_time}s '")
        w("              'upstream=$upstream_addr ${upstream_response_time}s';")
        w(f"access_log {self.prefix / 'access.log'} lk;")
        for entry in self.trusted:
            w(f"set_real_ip_from {entry};")
        if self.trusted:
            w("real_ip_header X-Forwarded-For;")
            w("real_ip_recursive on;")

    def maps(self) -> None:
        w = self.w
        w.open("map $request $lk_refused_kind")
        w(f"{_regex('~' + API_PREFIX_RAW)} api;")
        w("default page;")
        w.close()
        w.open("map $request_uri $lk_bad_path")  # "" for a path in normal form
        w(f"{_regex('~' + DOT_SEGMENT)} $lk_refused_kind;")
        w(f"{_regex('~' + NORMAL_URI)} '';")
        w("default $lk_refused_kind;")
        w.close()
        w.open("map $lk_bad_path $lk_400")  # nginx's own 400s: a bad path, or else a bad request
        w("'' bad_request/$lk_refused_kind;")
        w("default bad_path/$lk_bad_path;")
        w.close()
        w.open("map $http_upgrade $lk_connection")
        w("default upgrade;")
        w("'' '';")
        w.close()
        # The scheme: ours, unless a trusted proxy in front says (X-Forwarded-Proto) it was TLS.
        w.open("geo $realip_remote_addr $lk_from_trusted")
        w("default 0;")
        for entry in self.trusted:
            w(f"{entry} 1;")
        w.close()
        w.open("map $lk_from_trusted$http_x_forwarded_proto $lk_scheme")
        w("default $scheme;")
        w('"~*^1https$" https;')
        w('"~*^1http$" http;')
        w.close()

    # the server ---------------------------------------------------------------------------
    def server(self) -> None:
        w = self.w
        w.open("server")
        w(f"listen {self.settings.bind_host}:{self.settings.edge_port} reuseport backlog=4096;")
        w("server_name _;")
        w(f"client_max_body_size {self.settings.max_body_bytes};")
        w("error_page 400 /_lk/$lk_400;")  # what nginx refuses itself (a NUL in the path, a bad header)
        w("if ($lk_bad_path) {")
        w("    rewrite ^ /_lk/bad_path/$lk_bad_path? last;")
        w("}")
        self.answers()
        self.socket_location()
        self.s3_location()
        w.open("location = /api/v1/openapi.json")
        self.proxy("gateway", api=True)
        w.close()
        for pattern, service, limit, slow in self.regex_routes():
            w.open(f"location ~ {_regex(pattern)}")
            self.proxy(service, api=pattern.startswith("^" + API), limit=limit, stream=True, slow=slow)
            w.close()
        for path in sorted({*STATEMENTS, *SLOW}):  # one route with its own limit or time
            owner = service_for(path)
            if owner is not None:
                w.open(f"location = {path}")
                self.proxy(owner, api=True, limit=STATEMENTS.get(path), slow=SLOW.get(path))
                w.close()
        for key, service in ROUTES.items():
            path = API + key
            for head in (f"location = {path}", f"location {path}/"):
                if head.startswith("location = ") and path in STATEMENTS.keys() | SLOW.keys():
                    continue
                w.open(head)
                upload = head.startswith("location = ") and UPLOADS.match(path) is not None
                limit = body_limit(self.settings)("POST", path) if upload else None
                self.proxy(service, api=True, accel=service == "files", limit=limit, stream=upload)
                w.close()
        w.open("location /_lk/")  # nginx's own internal answers; nothing else is there
        w("internal;")
        self.answer(404, _json(NOT_FOUND), "application/json")
        w.close()
        w.open(f"location {API}")  # a path of no route
        self.answer(404, _json(NOT_FOUND), "application/json")
        w.close()
        for path in sorted({*STATEMENTS, *SLOW}):
            if not path.startswith(API):
                w.open(f"location = {path}")
                self.proxy("gateway", api=False, limit=STATEMENTS.get(path), slow=SLOW.get(path))
                w.close()
        w.open("location /")
        self.proxy("gateway", api=False)
        w.close()
        w.close()

    def regex_routes(self) -> list[tuple[str, str, int | None, float | None]]:
        """(pattern, service, body limit, timeout) of the routes a prefix cannot say: the chat's
        resources under an application, and the uploads (they stream, with a larger limit)."""
        upload = self.settings.max_upload_bytes + MULTIPART_OVERHEAD
        chat = "|".join(sorted(CHAT_RESOURCES))
        return [
            (rf"^/api/v1/applications/[^/]+/({chat})(/|$)", "chat", None, None),
            (UPLOADS.pattern, "files", upload, None),
            (PAGE_UPLOADS.pattern, "gateway", PAGE_UPLOAD_MAX, None),
        ]

    def proxy(
        self,
        service: str,
        *,
        api: bool,
        limit: int | None = None,
        slow: float | None = None,
        stream: bool = False,
        accel: bool = False,
    ) -> None:
        w = self.w
        w(f"proxy_pass http://{upstream_of(service)};")
        self.forwarded(service, accel=accel)
        w("proxy_set_header Connection '';")
        timeout = _seconds(slow or TIMEOUT)
        w(f"proxy_connect_timeout {_seconds(CONNECT_TIMEOUT)};")
        w(f"proxy_send_timeout {timeout};")
        w(f"proxy_read_timeout {timeout};")
        if limit is not None:
            w(f"client_max_body_size {limit};")
        if stream:
            w("proxy_request_buffering off;")
        elif limit is not None:  # a buffered body stays in memory: no temp files, ever
            w(f"client_body_buffer_size {limit};")
        if not accel:
            w("proxy_ignore_headers X-Accel-Redirect;")
        kind = "api" if api else "page"
        w(f"error_page 413 = /_lk/too_large/{kind};")
        w(f"error_page 502 503 504 = /_lk/unavailable/{kind};")

    def forwarded(self, service: str, accel: bool = False) -> None:
        """What a service believes about the caller: nginx's record, with the proof."""
        w = self.w
        w("proxy_http_version 1.1;")
        host = "$http_host" if service == "gateway" else _address(self.settings.url_of(service))
        w(f"proxy_set_header Host {host};")
        w(f"proxy_set_header {EDGE_HEADER} {self.edge};")
        w("proxy_set_header X-Forwarded-For $remote_addr;")
        w("proxy_set_header X-Forwarded-Proto $lk_scheme;")
        w("proxy_set_header Forwarded '';")
        w("proxy_set_header X-Real-IP '';")
        w(f"proxy_set_header {ACCEL_HEADER} {self.accel if accel else _quoted('')};")

    def socket_location(self) -> None:
        """The chat's socket: to the gateway (it checks the Origin and opens the chat link)."""
        w = self.w
        w.open(f"location ~ {_regex(CHAT_SOCKET)}")
        w(f"proxy_pass http://{upstream_of('gateway')};")
        self.forwarded("gateway")
        w("proxy_set_header Upgrade $http_upgrade;")
        w("proxy_set_header Connection $lk_connection;")
        w(f"proxy_connect_timeout {_seconds(CONNECT_TIMEOUT)};")
        w(f"proxy_read_timeout {_seconds(SOCKET_TIMEOUT)};")
        w(f"proxy_send_timeout {_seconds(SOCKET_TIMEOUT)};")
        w("proxy_buffering off;")
        w("proxy_ignore_headers X-Accel-Redirect;")
        w("error_page 502 503 504 = /_lk/unavailable/api;")
        w.close()

    def s3_location(self) -> None:
        """Where the files service's ``X-Accel-Redirect`` leads: the S3 server, by a presigned
        URL (its signature covers the Host header, so that is the endpoint's exactly)."""
        w = self.w
        s = self.settings
        scheme = "https" if s.s3_secure else "http"
        w.open(f"location ~ {_regex(ACCEL_LOCATION)}")
        w("internal;")
        w(f"proxy_pass {scheme}://{upstream_of('s3')}/$lk_object$is_args$args;")
        w("proxy_http_version 1.1;")
        w(f"proxy_set_header Host {s.s3_endpoint};")
        w("proxy_set_header Connection '';")
        w("proxy_set_header Cookie '';")
        w("proxy_set_header Authorization '';")
        for name in ("Range", "If-Range", "If-None-Match", "If-Match", "If-Modified-Since"):
            w(f"proxy_set_header {name} '';")
        w("proxy_pass_request_body off;")
        w("proxy_set_header Content-Length '';")
        w("proxy_method GET;")
        w(f"proxy_connect_timeout {_seconds(CONNECT_TIMEOUT)};")
        w(f"proxy_read_timeout {_seconds(TIMEOUT)};")
        w("proxy_ignore_headers X-Accel-Redirect Set-Cookie Expires Cache-Control;")
        # The files service's answer decided the headers; the S3 server's own are not passed.
        for name in ("Content-Type", "ETag", "Last-Modified", "Accept-Ranges", "Set-Cookie", "x-amz-*"):
            w(f"more_clear_headers {_quoted(name)};" if "*" in name else f"proxy_hide_header {name};")
        w('add_header ETag "\\"$lk_etag\\"";')
        w("add_header X-Content-Type-Options nosniff always;")
        w("add_header Content-Security-Policy \"default-src 'none'; sandbox\" always;")
        w("error_page 403 404 = /_lk/unavailable/api;")
        w("error_page 502 503 504 = /_lk/unavailable/api;")
        w("proxy_intercept_errors on;")
        w.close()

    def answers(self) -> None:
        """nginx's own answers, in the services' words: JSON for the API, pages otherwise."""
        w = self.w
        too_large = _json(error_body(*STATUS_TEXT[413]))
        for path, status, body, media in (
            ("/_lk/bad_path/api", 400, _json(BAD_PATH), "application/json"),
            ("/_lk/bad_path/page", 400, BAD_PATH_PAGE, "text/html; charset=utf-8"),
            ("/_lk/bad_request/api", 400, _json(error_body(*STATUS_TEXT[400])), "application/json"),
            ("/_lk/bad_request/page", 400, refused_page(400), "text/html; charset=utf-8"),
            ("/_lk/too_large/api", 413, too_large, "application/json"),
            ("/_lk/too_large/page", 413, refused_page(413), "text/html; charset=utf-8"),
            ("/_lk/unavailable/api", 503, _json(UNAVAILABLE), "application/json"),
            ("/_lk/unavailable/page", 503, UNAVAILABLE_PAGE, "text/html; charset=utf-8"),
        ):
            w.open(f"location = {path}")
            w("internal;")
            if status == 503:
                w("add_header Retry-After 5 always;")
            self.answer(status, body, media)
            w.close()

    def answer(self, status: int, body: str, media: str) -> None:
        w = self.w
        w(f"default_type {_quoted(media)};")
        w("add_header Cache-Control no-store always;")
        if media == "application/json":
            w("add_header X-Content-Type-Options nosniff always;")
        w(f"return {status} {_quoted(body)};")


def config_text(settings: Settings, prefix: Path) -> str:
    return EdgeConfig(settings, prefix).render()


def write_config(settings: Settings, prefix: Path | None = None) -> Path:
    """Write ``<prefix>/nginx.conf`` (0600, it holds the proof) and the directories nginx uses."""
    prefix = (prefix or settings.edge_dir).resolve()
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / "tmp" / kind).mkdir(parents=True, exist_ok=True)
    path = prefix / CONFIG
    tmp = prefix / f".{CONFIG}.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(config_text(settings, prefix))
    os.replace(tmp, path)
    return path


def nginx_binary(settings: Settings) -> str:
    found = shutil.which(settings.nginx_bin) or (
        settings.nginx_bin if Path(settings.nginx_bin).is_file() else None
    )
    if found is None:
        raise FileNotFoundError(f"{settings.nginx_bin} not found: run deploy/nginx.sh (make infra-up)")
    return found


def nginx_command(settings: Settings, prefix: Path, *extra: str) -> list[str]:
    """``nginx -p <prefix> -c nginx.conf -e <prefix>/error.log …`` (one system's own nginx)."""
    prefix = prefix.resolve()
    return [nginx_binary(settings), "-p", f"{prefix}/", "-c", CONFIG, "-e", str(prefix / "error.log"), *extra]


def check(settings: Settings, prefix: Path) -> subprocess.CompletedProcess[str]:
    """``nginx -t`` of the written configuration."""
    return subprocess.run(
        nginx_command(settings, prefix, "-t", "-q"), capture_output=True, text=True, check=False
    )


Prefix = Annotated[Path | None, typer.Option(help="Каталог nginx (по умолчанию <LK_VAR_DIR>/edge)")]


def edge_config(
    prefix: Prefix = None,
    test: Annotated[bool, typer.Option("--test", help="Проверить конфигурацию: nginx -t")] = False,
    show: Annotated[bool, typer.Option("--show", help="Напечатать конфигурацию")] = False,
) -> None:
    """Записать конфигурацию nginx реального стека (из таблицы маршрутов), права 0600."""
    settings = Settings()
    path = write_config(settings, prefix)
    typer.echo(f"{path}")
    if show:
        typer.echo(path.read_text(encoding="utf-8"))
    if test:
        result = check(settings, path.parent)
        if result.returncode != 0:
            typer.echo(result.stderr, err=True)
            raise typer.Exit(1)
        typer.echo("nginx -t: ok")


def serve_edge(prefix: Prefix = None) -> None:
    """Записать конфигурацию и запустить nginx этой системы (на переднем плане, daemon off)."""
    settings = Settings()
    path = write_config(settings, prefix)
    command = nginx_command(settings, path.parent, "-g", "daemon off;")
    os.execv(command[0], command)  # noqa: S606 - the process becomes nginx (its pid, its signals)
