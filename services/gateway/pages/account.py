"""The cabinet, the profile (the name shown, the password) and «Выход»."""

from __future__ import annotations

import contextlib

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


@router.get("/profile")
async def profile_page(request: Request, user: SignedInToCabinet) -> Response:
    return page(request, "profile.html", user=user, active="profile", values=user, title=PROFILE_TITLE)


@router.post("/profile", dependencies=[SIGNED_IN])
async def update_profile(request: Request) -> Response:
    post = await Post.read(request, "/profile")
    values = post.pick("first_name", "last_name")
    post.keep(values=values)
    await post.call("PATCH", "/api/v1/me", ok=200, refused=at_fields(values), auth=True, json=values)
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
