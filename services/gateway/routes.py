"""The gateway's routing table: which service owns a public API path, which paths need no
login, and how large a request body each route takes. Every decision here is made on the
path the edge (:mod:`services.gateway.edge`) has already checked to be in normal form."""

from __future__ import annotations

import re

from shared.middleware import RouteLimit
from shared.settings import Settings

API = "/api/v1/"

# First segment after /api/v1 (or the first two) → service.
ROUTES: dict[str, str] = {
    "accounts": "identity",
    "sessions": "identity",
    "me": "identity",
    "password-reset": "identity",
    "admin/accounts": "identity",
    "application-types": "applications",
    "applications": "applications",
    "files": "files",
    "forms": "files",
    "payments": "applications",
    "deadline-watch": "applications",
    "fees": "applications",
}
# /applications/{id}/<resource>… belongs to the chat service.
CHAT_RESOURCES = frozenset({"messages", "chat", "presence"})
SERVICES = ("identity", "applications", "chat", "files")
BACKENDS = (*SERVICES, "notifier")  # every service behind the gateway

# Reachable without a session: registration, confirmation, login, password reset, the
# catalog, the fee schedules and the standard forms (reading them, filling one in and the
# fee estimate: nothing is stored).
PUBLIC: frozenset[tuple[str, str]] = frozenset(
    {
        ("POST", "/api/v1/accounts"),
        ("POST", "/api/v1/accounts/confirm-email"),
        ("POST", "/api/v1/accounts/resend-confirmation"),
        ("POST", "/api/v1/sessions"),
        ("POST", "/api/v1/password-reset"),
        ("POST", "/api/v1/password-reset/confirm"),
        # The fee calculator: a pure calculation on the posted figures; it stores nothing,
        # reads no session and answers the same to anyone (docs/fees.md).
        ("POST", "/api/v1/fees/estimate"),
    }
)
PUBLIC_READ = frozenset({"application-types", "forms", "fees"})
PUBLIC_POST = re.compile(r"^/api/v1/forms/[^/]+/fill$")

# Bodies that may be large: uploads stream to the files service, which counts exactly.
UPLOADS = re.compile(r"^/api/v1/(files|forms/[^/]+/versions)$")
PAGE_UPLOADS = re.compile(
    r"^/(apply/[^/]+/new|apply/documents/[^/]+|applications/[^/]+/(messages|tu-notice)|upload/(file|form/[^/]+)"
    r"|applications/[^/]+/desk/(offer|document))$"  # the staff's uploads (pages/staff.py)
)
MULTIPART_OVERHEAD = 64 * 1024
PAGE_UPLOAD_MAX = 220 * 1024 * 1024  # a page form may carry several scans
# A bank statement (CSV, up to 2 MB, the applications service's limit) posted to the API, or
# through the staff page as a form.
STATEMENT_MAX = 2 * 1024 * 1024
STATEMENTS = {
    "/api/v1/payments/import": STATEMENT_MAX,
    "/payments/import": STATEMENT_MAX + MULTIPART_OVERHEAD,
}
# Routes whose answer may take long (seconds until it starts; 30 s for the rest): a statement
# of thousands of lines is answered once every line is recorded.
SLOW: dict[str, float] = {"/api/v1/payments/import": 300.0}


def segments(path: str) -> list[str]:
    return path.removeprefix(API).rstrip("/").split("/")


def service_for(path: str) -> str | None:
    """The service that owns ``/api/v1/<segment>/…``, or None."""
    if not path.startswith(API):
        return None
    parts = segments(path)
    if len(parts) >= 3 and parts[0] == "applications" and parts[2] in CHAT_RESOURCES:
        return "chat"
    return ROUTES.get("/".join(parts[:2])) or ROUTES.get(parts[0])


def is_public(method: str, path: str) -> bool:
    path = path.rstrip("/")
    if (method, path) in PUBLIC or (method == "POST" and PUBLIC_POST.match(path)):
        return True
    return method in ("GET", "HEAD") and path.startswith(API) and segments(path)[0] in PUBLIC_READ


def body_limit(settings: Settings) -> RouteLimit:
    """The largest request body per route, for :class:`shared.http.BodyLimit`."""
    upload = settings.max_upload_bytes + MULTIPART_OVERHEAD

    def limit(method: str, path: str) -> int:
        if method == "POST" and UPLOADS.match(path):
            return upload
        if method == "POST" and PAGE_UPLOADS.match(path):
            return PAGE_UPLOAD_MAX
        if method == "POST" and path in STATEMENTS:
            return STATEMENTS[path]
        return settings.max_body_bytes

    return limit
