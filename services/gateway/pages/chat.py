"""The chat's own page (``/applications/{id}/chat``, a focused view) and the no-JavaScript
form post of a message with files. A failed post shows the page again at once with the error
and the typed text (the chat's partial is rendered on the application page or its own)."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from services.gateway.pages.applications import application_view
from services.gateway.pages.calls import UNAVAILABLE, SignedIn, User, api, refusal_of
from services.gateway.pages.chat_view import chat_context
from services.gateway.pages.post import STALE_FORM, csrf_ok, declared_over
from services.gateway.pages.render import csrf_token, finish, not_found, templates
from services.gateway.pages.slots import not_accepted, send_file

router = APIRouter(include_in_schema=False)

MAX_FILES = 10
MAX_FORM_BYTES = MAX_FILES * 26 * 1024 * 1024

CHAT_PAGE = templates.env.from_string(
    """{% extends "base.html" %}{% block content %}
<p><a href="/applications/{{ chat.application_id }}">← Заявка {{ chat.number }}</a></p>
<h1>Переписка по заявке {{ chat.number }}</h1>
{% include "_chat.html" %}
{% endblock %}"""
)


async def chat_page(request: Request, user: User, application_id: str, status: int | None = None) -> Response:
    """The chat's own page; ``status`` (of a failed post) or that of the chat's state."""
    chat = await chat_context(request, application_id)
    if chat.get("status") == 404:
        return not_found(request, user, {"message": chat.get("unavailable", "")})
    if status is None:
        status = 200 if chat["available"] else int(chat.get("status", 503))
    html = CHAT_PAGE.render(
        request=request,
        title=f"Переписка по заявке {chat['number']} — Личный кабинет ТП",
        csrf=csrf_token(request),
        user=user,
        active="applications",
        chat=chat,
        values={},
        fields={},
    )
    return finish(request, HTMLResponse(html, status))


@router.get("/applications/{application_id}/chat")
async def chat_standalone(application_id: str, request: Request, user: SignedIn) -> Response:
    return await chat_page(request, user, application_id)


@router.post("/applications/{application_id}/messages")
async def post_message(application_id: str, request: Request, user: SignedIn) -> Response:
    """The plain form: upload the chosen files, then post the message (works without JavaScript)."""
    if declared_over(request, MAX_FORM_BYTES):
        return await _failed(request, user, application_id, "", 413, "Слишком большой объём файлов.")
    try:
        form = await request.form(max_files=MAX_FILES, max_fields=10)
    except Exception:  # noqa: BLE001 - a malformed body is the client's error
        return await _failed(request, user, application_id, "", 400, "Не удалось прочитать форму.")
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    text, back = values.get("text", ""), values.get("back", "application")
    if not csrf_ok(request, values.get("csrf", "")):
        await form.close()
        return await _failed(request, user, application_id, text, 403, STALE_FORM, back)
    file_ids, problems = [], []
    try:
        for item in form.getlist("files"):
            if isinstance(item, UploadFile) and item.filename:
                uploaded, problem = await send_file(request, item)
                if uploaded:
                    file_ids.append(uploaded["id"])
                else:
                    problems.append(problem)
    except httpx.TransportError:
        problems.append(UNAVAILABLE)
    finally:
        await form.close()
    if problems:
        return await _failed(request, user, application_id, text, 422, not_accepted(problems), back)
    body: dict[str, Any] = {"text": text, "attachments": file_ids}
    if values.get("client_id"):
        body["client_id"] = values["client_id"]
    here = f"/applications/{application_id}"
    try:
        answer = await api(request, "POST", f"/api/v1{here}/messages", auth=True, json=body)
    except httpx.TransportError:
        return await _failed(request, user, application_id, text, 503, UNAVAILABLE, back)
    if answer.status_code in (200, 201):
        return RedirectResponse((f"{here}/chat" if back == "chat" else here) + "#chat", 303)
    message = refusal_of(answer).message
    return await _failed(request, user, application_id, text, answer.status_code, message, back)


async def _failed(
    request: Request,
    user: User,
    application_id: str,
    draft: str,
    status: int,
    error: str,
    back: str = "application",
) -> Response:
    """Show the form again with the error and the typed text."""
    request.state.chat_error = error
    request.state.chat_draft = draft
    request.state.chat_back = back
    if back == "chat":
        return await chat_page(request, user, application_id, status)
    return await application_view(request, user, application_id, status)
