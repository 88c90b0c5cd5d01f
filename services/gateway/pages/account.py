"""The cabinet, the profile (the name shown, the password) and «Выход»."""

from __future__ import annotations

import contextlib
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.gateway.pages.calls import SIGNED_IN, SignedInToCabinet, api
from services.gateway.pages.fields import MISMATCH, required
from services.gateway.pages.post import Post, at_fields
from services.gateway.pages.render import back, fresh_csrf_cookie, page
from services.gateway.state import gateway_of

router = APIRouter(include_in_schema=False)
PROFILE_TITLE = "Профиль — Личный кабинет ТП"


@router.get("/cabinet")
async def cabinet(request: Request, user: SignedInToCabinet) -> Response:
    return page(
        request, "cabinet.html", user=user, active="cabinet", title="Личный кабинет — Личный кабинет ТП"
    )


KINDS = {
    "individual": "Физическое лицо",
    "sole_trader": "Индивидуальный предприниматель",
    "company": "Юридическое лицо",
}
COMMON = ("last_name", "first_name", "middle_name", "phone", "postal_address", "inn")
BY_KIND = {
    "individual": ("passport_series", "passport_number", "passport_issued_by", "passport_issued_on"),
    "sole_trader": ("ogrnip",),
    "company": ("organisation_name", "ogrn", "kpp"),
}
PASSPORT = ("series", "number", "issued_by", "issued_on")
# The API's names of the passport's parts → the form's.
RENAMED = {f"passport.{part}": f"passport_{part}" for part in PASSPORT}


def profile_values(user: dict[str, Any]) -> dict[str, str]:
    """The profile of ``GET /me`` as the form's fields (the passport's parts flattened)."""
    passport = user.get("passport") or {}
    fields = (*COMMON, "applicant_kind", *(f for kind in BY_KIND.values() for f in kind))
    values = {name: str(user.get(name) or "") for name in fields}
    return {**values, **{f"passport_{part}": str(passport.get(part) or "") for part in PASSPORT}}


def profile_body(values: dict[str, str]) -> dict[str, Any]:
    """The whole profile for ``PUT /me/profile``: the fields of the kind chosen only (the
    others' inputs are hidden, not gone: what was typed there before a switch is no data)."""
    kind = values.get("applicant_kind", "")
    body: dict[str, Any] = {name: values.get(name, "") for name in COMMON}
    if kind:
        body["applicant_kind"] = kind
    for name in BY_KIND.get(kind, ()):
        if name.startswith("passport_"):
            body.setdefault("passport", {})[name.removeprefix("passport_")] = values.get(name, "")
        else:
            body[name] = values.get(name, "")
    return body


@router.get("/profile")
async def profile_page(request: Request, user: SignedInToCabinet) -> Response:
    return page(
        request,
        "profile.html",
        user=user,
        active="profile",
        values=profile_values(user),
        kinds=KINDS,
        title=PROFILE_TITLE,
    )


@router.post("/profile", dependencies=[SIGNED_IN])
async def update_profile(request: Request) -> Response:
    post = await Post.read(request, "/profile")
    values = post.pick("applicant_kind", *COMMON, *(f for kind in BY_KIND.values() for f in kind))
    post.keep(values=values)
    refused = at_fields(values, RENAMED)
    await post.call(
        "PUT", "/api/v1/me/profile", ok=200, refused=refused, auth=True, json=profile_body(values)
    )
    return back(request, "/profile", done="Профиль обновлён.")


@router.post("/profile/password", dependencies=[SIGNED_IN])
async def change_password(request: Request) -> Response:
    post = await Post.read(request, "/profile")
    values = post.pick("current_password", "new_password", "new_password2")
    fields = required(values, *values)
    if not fields and values["new_password"] != values["new_password2"]:
        fields["new_password2"] = MISMATCH
    if fields:
        return post.back(fields=fields)
    body = {"current_password": values["current_password"], "new_password": values["new_password"]}
    refused = at_fields(values, {"password": "new_password"})
    answer = await post.call("POST", "/api/v1/me/password", ok=200, refused=refused, auth=True, json=body)
    return back(request, "/profile", done=answer.json()["message"])


@router.post("/logout")
async def logout(request: Request) -> Response:
    session = gateway_of(request).settings.session_cookie
    logged_in = bool(request.cookies.get(session))
    # A stale form: still logged in, so back to the cabinet (or the entry, if the session is gone).
    await Post.read(request, "/cabinet" if logged_in else "/?tab=login")
    if logged_in:
        # If identity is down the cookie still goes; the session then expires on its own.
        with contextlib.suppress(httpx.TransportError):
            await api(request, "DELETE", "/api/v1/sessions/current", auth=True)
    response = RedirectResponse("/", 303)
    response.delete_cookie(session, path="/", httponly=True, samesite="lax")
    fresh_csrf_cookie(request, response)
    return response
