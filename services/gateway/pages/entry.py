"""The entry: tabs «Вход» and «Регистрация», and where a registration lands."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.gateway import flash
from services.gateway.next_page import login_url, safe_next
from services.gateway.pages.calls import Visitor, idempotency
from services.gateway.pages.fields import MISMATCH, email_checked, field_errors, required
from services.gateway.pages.post import Post, at_fields
from services.gateway.pages.render import back, fresh_csrf_cookie, login_cookie, page

router = APIRouter(include_in_schema=False)
TAB_TITLES = {"login": "Вход — Личный кабинет ТП", "register": "Регистрация — Личный кабинет ТП"}


@router.get("/")
async def index(request: Request, user: Visitor, tab: str = "login") -> Response:
    target = safe_next(request.query_params.get("next"))  # where a login returns to
    if user:
        return RedirectResponse(target or "/cabinet", 303)
    tab = "register" if tab == "register" else "login"
    return page(request, "index.html", tab=tab, title=TAB_TITLES[tab], next=target)


@router.get("/login")
async def login_page() -> Response:
    return RedirectResponse("/?tab=login", 303)


@router.get("/register")
async def register_page() -> Response:
    return RedirectResponse("/?tab=register", 303)


@router.post("/login")
async def login(request: Request) -> Response:
    post = await Post.read(request, "/?tab=login")
    target = safe_next(post.form.get("next"))
    post.again = login_url(target)
    values = post.pick("login", "password")
    post.keep(values=values)
    if missing := required(values, "login", "password"):
        return post.back(fields=missing)

    def refused(answer: httpx.Response) -> dict[str, Any]:
        summary, fields, code = field_errors(answer, values)
        return {"error": summary, "fields": fields, "unconfirmed": code == "email_not_confirmed"}

    answer = await post.call("POST", "/api/v1/sessions", ok=201, refused=refused, json=values)
    body = answer.json()
    response = RedirectResponse(target or "/cabinet", 303)
    login_cookie(request, response, body["access_token"], int(body["expires_in"]))
    fresh_csrf_cookie(request, response)
    return response


@router.post("/register")
async def register(request: Request) -> Response:
    post = await Post.read(request, "/?tab=register")
    values = post.pick("login", "email", "account_type", "password", "password2")
    post.keep(values=values)
    fields = email_checked(values, required(values, "login", "email", "password", "password2"))
    if "password2" not in fields and values["password"] != values["password2"]:
        fields["password2"] = MISMATCH
    if fields:
        return post.back(fields=fields)
    body = {k: values[k] for k in ("login", "email", "account_type", "password")}
    headers = idempotency(post.form)
    await post.call("POST", "/api/v1/accounts", ok=201, refused=at_fields(values), json=body, headers=headers)
    return back(request, "/registered", email=values["email"])


@router.get("/registered")
async def registered(request: Request) -> Response:
    if not flash.take(request).get("email"):
        return RedirectResponse("/?tab=register", 303)
    return page(request, "registered.html", title="Регистрация почти завершена — Личный кабинет ТП")
