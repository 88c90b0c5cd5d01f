"""Where a login returns to: the page an anonymous visitor opened (an e-mailed link to an
application, say) travels to the login form as ``next`` and back.

Only a same-site relative path to a page of the cabinet is accepted: one slash, then known
sections and plain segments (letters, digits, ``-``, ``_``), at most a plain query. Anything
else — ``//host``, ``/\\host``, ``https://…``, dot segments, percent-encoded characters,
whitespace, a scheme — is dropped, and the login goes to the cabinet.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse

SAFE_NEXT = re.compile(
    r"/(applications|apply|files|forms|profile|cabinet)(/[A-Za-z0-9_-]+)*/?(\?[A-Za-z0-9_=&-]*)?", re.ASCII
)
MAX_NEXT = 300


def safe_next(value: str | None) -> str:
    """``value`` when it is a page of the cabinet to return to, else ""."""
    if not value or len(value) > MAX_NEXT or not SAFE_NEXT.fullmatch(value):
        return ""
    return value


def login_url(target: str) -> str:
    """The login tab, returning to ``target`` when it is safe."""
    back = safe_next(target)
    return "/?tab=login" + (f"&{urlencode({'next': back})}" if back else "")


def to_login(request: Request) -> RedirectResponse:
    """An anonymous visitor of this page: to the login, and back here afterwards (a form
    post returns to nothing: the login goes to the cabinet)."""
    if request.method != "GET":
        return RedirectResponse(login_url(""), 303)
    query = request.url.query
    return RedirectResponse(login_url(request.url.path + (f"?{query}" if query else "")), 303)
