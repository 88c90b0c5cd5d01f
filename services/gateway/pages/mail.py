"""The pages of e-mailed links and the forms that send them: the address confirmation (and
its resend) and the password reset («Забыли пароль?» → the link → a new password)."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.gateway import flash
from services.gateway.pages.fields import MISMATCH, email_checked, field_errors, required
from services.gateway.pages.post import Post, at_fields, banner
from services.gateway.pages.render import back, page
from services.gateway.state import gateway_of

router = APIRouter(include_in_schema=False)


@router.get("/confirm")
async def confirm_page(request: Request, token: str = "") -> Response:
    # Confirmation needs a click: mail scanners that open links must not confirm for the user.
    return page(request, "confirm.html", token=token, title="Подтверждение e-mail — Личный кабинет ТП")


@router.post("/confirm")
async def confirm(request: Request) -> Response:
    post = await Post.read(request, "/confirm")
    token = post.form.get("token", "")
    post.keep(token=token)

    def refused(answer: httpx.Response) -> dict[str, Any]:
        return {**banner(answer), "token": ""}  # a refused link is not offered again

    await post.call("POST", "/api/v1/accounts/confirm-email", ok=200, refused=refused, json={"token": token})
    return back(request, "/confirmed", done="1")


@router.get("/confirmed")
async def confirmed(request: Request) -> Response:
    if not flash.take(request).get("done"):
        return RedirectResponse("/?tab=login", 303)
    return page(request, "confirmed.html", title="Адрес подтверждён — Личный кабинет ТП")


@router.get("/resend")
async def resend_page(request: Request) -> Response:
    return page(request, "resend.html", title="Повторная отправка ссылки — Личный кабинет ТП")


@router.post("/resend")
async def resend(request: Request) -> Response:
    return await _mail_request(request, "/resend", "/api/v1/accounts/resend-confirmation")


@router.get("/forgot")
async def forgot_page(request: Request) -> Response:
    return page(request, "forgot.html", title="Восстановление пароля — Личный кабинет ТП")


@router.post("/forgot")
async def forgot(request: Request) -> Response:
    return await _mail_request(request, "/forgot", "/api/v1/password-reset")


async def _mail_request(request: Request, url: str, path: str) -> Response:
    """«Отправить ссылку» (resend the confirmation, reset the password): one e-mail field."""
    post = await Post.read(request, url)
    values = post.pick("email")
    post.keep(values=values)
    if fields := email_checked(values, required(values, "email")):
        return post.back(fields=fields)
    answer = await post.call("POST", path, ok=202, refused=at_fields(values), json=values)
    return back(request, url, done=answer.json()["message"])


@router.get("/reset")
async def reset_page(request: Request, token: str = "") -> Response:
    # After a failed post the link's token comes back in the flash, never in the address.
    return page(request, "reset.html", token=token, title="Новый пароль — Личный кабинет ТП")


@router.post("/reset")
async def reset(request: Request) -> Response:
    post = await Post.read(request, "/reset")
    token = post.form.get("token", "")
    values = post.pick("new_password", "new_password2")
    post.keep(token=token)
    fields = required(values, "new_password", "new_password2")
    if not fields and values["new_password"] != values["new_password2"]:
        fields["new_password2"] = MISMATCH
    if fields:
        return post.back(fields=fields)

    def refused(answer: httpx.Response) -> dict[str, Any]:
        summary, fields, code = field_errors(answer, values, {"password": "new_password"})
        return {"error": summary, "fields": fields, "token": "" if code == "invalid_token" else token}

    body = {"token": token, "new_password": values["new_password"]}
    answer = await post.call("POST", "/api/v1/password-reset/confirm", ok=200, refused=refused, json=body)
    response = back(request, "/reset", done=answer.json()["message"])
    response.delete_cookie(gateway_of(request).settings.session_cookie, path="/")
    return response
