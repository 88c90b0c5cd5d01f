"""A form post, answered the one way every page does it (post/redirect/get): check that the
form comes from the cabinet (the CSRF field, or the origin of a streamed upload), call the
API, and on a failure go back to the form's page with the error, the messages at the fields
and what was typed — the service down, the API's refusal or a stale form alike."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any, NoReturn
from urllib.parse import urlsplit

import httpx
from fastapi import Request
from fastapi.responses import Response

from services.gateway.pages.calls import UNAVAILABLE, api, refusal_of
from services.gateway.pages.fields import field_errors
from services.gateway.pages.render import Answered, back
from services.gateway.state import gateway_of
from shared.auth import CSRF_COOKIE

STALE_FORM = "Форма устарела: обновите страницу и повторите действие."
Refused = Callable[[httpx.Response], dict[str, Any]]
"""What a refusal of the API shows on the form's page (``error``, ``fields`` …)."""


def banner(answer: httpx.Response) -> dict[str, Any]:
    """The API's message, above the form."""
    return {"error": refusal_of(answer).message}


def at_fields(values: dict[str, str], rename: dict[str, str] | None = None) -> Refused:
    """The API's messages at the form's fields (:func:`field_errors`), the rest above it."""

    def shown(answer: httpx.Response) -> dict[str, Any]:
        summary, fields, _ = field_errors(answer, values, rename)
        return {"error": summary, "fields": fields}

    return shown


def csrf_ok(request: Request, token: object) -> bool:
    """The form's CSRF field matches the cookie (double submit; compared in constant time)."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    return bool(cookie) and isinstance(token, str) and hmac.compare_digest(cookie.encode(), token.encode())


def same_origin(request: Request) -> bool:
    """A post from the cabinet's own pages, for forms whose body the gateway streams on
    unread (uploads) and so cannot check the CSRF field: browsers say where a post comes from
    (``Sec-Fetch-Site``, else ``Origin``), and a page of another site cannot change that."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site == "same-origin"
    origin = request.headers.get("origin", "")
    if not origin or origin == "null":
        return False
    public = urlsplit(gateway_of(request).settings.public_url)
    ours = {f"{public.scheme}://{public.netloc}", f"{request.url.scheme}://{request.headers.get('host', '')}"}
    return origin.rstrip("/") in ours


def declared_over(request: Request, limit: int) -> bool:
    """An upload form must say its size up front (``Content-Length``), within ``limit``."""
    length = request.headers.get("content-length", "")
    return not length.isdigit() or int(length) > limit


class Post:
    """One form post being answered: ``again`` is the page a failure goes back to, ``kept``
    what every failure shows there again (the values typed, a link's token)."""

    def __init__(self, request: Request, again: str, form: dict[str, str] | None = None) -> None:
        self.request = request
        self.again = again
        self.form = form or {}
        self.kept: dict[str, Any] = {}

    @classmethod
    async def read(cls, request: Request, again: str) -> Post:
        """The posted form, whose CSRF field must match the cookie (a stale form goes back)."""
        form = await request.form()
        post = cls(request, again, {k: v for k, v in form.items() if isinstance(v, str)})
        if not csrf_ok(request, post.form.get("csrf", "")):
            post.fail(error=STALE_FORM)
        return post

    @classmethod
    def streamed(cls, request: Request, again: str) -> Post:
        """A post whose body goes on unread (an upload): it must come from the cabinet's pages."""
        post = cls(request, again)
        if not same_origin(request):
            post.fail(error=STALE_FORM)
        return post

    def pick(self, *names: str) -> dict[str, str]:
        return {name: self.form.get(name, "") for name in names}

    def keep(self, **shown: Any) -> None:
        self.kept.update(shown)

    def back(self, **shown: Any) -> Response:
        return back(self.request, self.again, **{**self.kept, **shown})

    def fail(self, **shown: Any) -> NoReturn:
        raise Answered(self.back(**shown))

    async def call(
        self, method: str, path: str, *, ok: int, refused: Refused = banner, auth: bool = False, **kwargs: Any
    ) -> httpx.Response:
        """The API's answer ``ok``; a service that is down or a refusal goes back to the form."""
        try:
            answer = await api(self.request, method, path, auth=auth, **kwargs)
        except httpx.TransportError:
            self.fail(error=UNAVAILABLE)
        return self.check(answer, ok=ok, refused=refused)

    def check(self, answer: httpx.Response, *, ok: int, refused: Refused = banner) -> httpx.Response:
        if answer.status_code != ok:
            self.fail(**refused(answer))
        return answer
