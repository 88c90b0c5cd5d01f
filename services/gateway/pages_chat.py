"""The chat on the pages: the ``_chat.html`` partial's context (:func:`chat_context`, called
by the application page), the no-JavaScript form post, and a page of its own
(``/applications/{id}/chat``) for a focused view.

Without JavaScript the partial shows the newest messages (with a link to earlier ones) and a
plain form that posts text and files; the form carries a random ``client_id``, so pressing
«Отправить» twice posts once. ``static/chat.js`` adds live updates over the socket, typing,
read receipts, uploads with progress and a queue for messages typed while offline.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from services.gateway.format import size as size_text
from services.gateway.format import when
from services.gateway.next_page import to_login
from services.gateway.pages import (
    STALE_FORM,
    UNAVAILABLE,
    _csrf,
    _errors,
    _finish,
    api,
    current_user,
    page,
    templates,
)

router = APIRouter(include_in_schema=False)

PAGE_MESSAGES = 50
MAX_FILES = 10
MAX_FORM_BYTES = MAX_FILES * 26 * 1024 * 1024

CHAT_PAGE = templates.env.from_string(
    """{% extends "base.html" %}{% block content %}
<p><a href="/applications/{{ chat.application_id }}">← Заявка {{ chat.number }}</a></p>
<h1>Переписка по заявке {{ chat.number }}</h1>
{% include "_chat.html" %}
{% endblock %}"""
)


def presence_text(role: str, presence: dict[str, Any]) -> str:
    """«сотрудник в сети» / «был(а) в сети …» for the consumer; the applicant's for staff."""
    if role == "staff":
        if presence.get("applicant_online"):
            return "Заявитель в сети"
        seen = presence.get("applicant_last_seen")
        return f"Заявитель был(а) в сети {when(seen)}" if seen else "Заявитель сейчас не в сети"
    if presence.get("staff_online"):
        return "Сотрудник сетевой организации в сети"
    seen = presence.get("staff_last_seen")
    return (
        f"Сотрудник был(а) в сети {when(seen)}" if seen else "Сотрудник сетевой организации сейчас не в сети"
    )


def message_view(message: dict[str, Any], me: str, other_read: int) -> dict[str, Any]:
    mine = message["author_id"] == me
    if mine:
        label = "Вы"
    elif message["author_role"] == "staff":
        label = f"{message['author_name'] or 'Сотрудник'} (сетевая организация)"
    else:
        label = message["author_name"] or "Заявитель"
    return {
        **message,
        "mine": mine,
        "author_label": label,
        "when": when(message["at"]),
        "read": mine and message["seq"] <= other_read,
        "attachments": [{**a, "size_text": size_text(int(a.get("size", 0)))} for a in message["attachments"]],
    }


async def chat_context(request: Request, application_id: str) -> dict[str, Any]:
    """What ``_chat.html`` renders for the caller; showing the newest page counts as reading it."""
    back = getattr(request.state, "chat_back", "") or (
        "chat" if request.url.path.rstrip("/").endswith("/chat") else "application"
    )
    context: dict[str, Any] = {
        "application_id": application_id,
        "number": "",
        "messages": [],
        "last_seq": 0,
        "available": False,
        "error": getattr(request.state, "chat_error", ""),
        "draft": getattr(request.state, "chat_draft", ""),
        "client_id": uuid.uuid4().hex,
        "back": back,
        "ws_path": f"/api/v1/applications/{application_id}/chat/ws",
    }
    before = request.query_params.get("chat_before", "")
    query = f"limit={PAGE_MESSAGES}&before={before if before.isdigit() and int(before) > 0 else 2**31}"
    base = f"/api/v1/applications/{application_id}"
    try:
        summary = await api(request, "GET", f"{base}/chat", auth=True, service="chat")
        if summary.status_code != 200:
            context["unavailable"] = _errors(summary)[0]
            context["status"] = summary.status_code
            return context
        history = await api(request, "GET", f"{base}/messages?{query}", auth=True, service="chat")
    except httpx.TransportError:
        context["unavailable"] = "Переписка временно недоступна, попробуйте через минуту."
        context["status"] = 503
        return context
    if history.status_code != 200:
        context["unavailable"] = _errors(history)[0]
        context["status"] = history.status_code
        return context
    info, body = summary.json(), history.json()
    me, role = info["you"]["account_id"], info["you"]["role"]
    messages = [message_view(m, me, info["other_read_up_to"]) for m in body["items"]]
    newest_page = not before
    if newest_page and info["unread"] and body["last_seq"]:
        # The page shows them: a read receipt, as the socket would send for a visible page.
        with contextlib.suppress(httpx.TransportError):
            await api(
                request,
                "POST",
                f"{base}/messages/read",
                auth=True,
                service="chat",
                json={"up_to_seq": body["last_seq"]},
            )
    read_before = info["read_up_to"]
    for m in messages:
        m["new"] = not m["mine"] and m["seq"] > read_before
    context.update(
        available=True,
        status=200,
        number=info.get("number", ""),
        role=role,
        account_id=me,
        messages=messages,
        last_seq=body["last_seq"] if newest_page else 0,
        shown_last_seq=messages[-1]["seq"] if messages else 0,
        newest_page=newest_page,
        has_earlier=body["has_earlier"],
        earlier_before=messages[0]["seq"] if messages else 0,
        unread=info["unread"],
        other_read_up_to=info["other_read_up_to"],
        presence_text=presence_text(role, info["presence"]),
        staff=role == "staff",
    )
    return context


def chat_page(request: Request, user: dict[str, Any], chat: dict[str, Any], status: int = 200) -> Response:
    html = CHAT_PAGE.render(
        request=request,
        title=f"Переписка по заявке {chat['number']} — Личный кабинет ТП",
        csrf=_csrf(request),
        user=user,
        active="applications",
        chat=chat,
        values={},
        fields={},
    )
    return _finish(request, HTMLResponse(html, status))


@router.get("/applications/{application_id}/chat")
async def chat_standalone(application_id: str, request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return to_login(request)
    chat = await chat_context(request, application_id)
    if chat.get("status") == 404:
        return page(request, "not_found.html", 404, user=user, message=chat.get("unavailable", ""))
    return chat_page(request, user, chat, 200 if chat["available"] else int(chat.get("status", 503)))


async def _upload(request: Request, upload: UploadFile) -> tuple[str | None, str]:
    files = {
        "file": (upload.filename or "file", upload.file, upload.content_type or "application/octet-stream")
    }
    answer = await api(request, "POST", "/api/v1/files", auth=True, service="files", files=files)
    if answer.status_code == 201:
        return str(answer.json()["id"]), ""
    return None, f"«{upload.filename}»: {_errors(answer)[0]}"


@router.post("/applications/{application_id}/messages")
async def post_message(application_id: str, request: Request) -> Response:
    """The plain form: upload the chosen files, then post the message (works without JavaScript)."""
    user = await current_user(request)
    if user is None:
        return to_login(request)
    length = request.headers.get("content-length", "")
    if not length.isdigit() or int(length) > MAX_FORM_BYTES:
        return await _failed(request, user, application_id, "", 413, "Слишком большой объём файлов.")
    try:
        form = await request.form(max_files=MAX_FILES, max_fields=10)
    except Exception:  # noqa: BLE001 - a malformed body is the client's error
        return await _failed(request, user, application_id, "", 400, "Не удалось прочитать форму.")
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    text, back = values.get("text", ""), values.get("back", "application")
    if not values.get("csrf") or values.get("csrf") != request.cookies.get("lk_csrf"):
        await form.close()
        return await _failed(request, user, application_id, text, 403, STALE_FORM, back)
    file_ids, problems = [], []
    try:
        for item in form.getlist("files"):
            if isinstance(item, UploadFile) and item.filename:
                file_id, problem = await _upload(request, item)
                if file_id:
                    file_ids.append(file_id)
                else:
                    problems.append(problem)
    except httpx.TransportError:
        problems.append(UNAVAILABLE)
    finally:
        await form.close()
    if problems:
        return await _failed(
            request, user, application_id, text, 422, "Файлы не приняты: " + " ".join(problems), back
        )
    body: dict[str, Any] = {"text": text, "attachments": file_ids}
    client_id = values.get("client_id", "")
    if client_id:
        body["client_id"] = client_id
    try:
        answer = await api(
            request,
            "POST",
            f"/api/v1/applications/{application_id}/messages",
            auth=True,
            service="chat",
            json=body,
        )
    except httpx.TransportError:
        return await _failed(request, user, application_id, text, 503, UNAVAILABLE, back)
    if answer.status_code in (200, 201):
        target = (
            f"/applications/{application_id}/chat" if back == "chat" else f"/applications/{application_id}"
        )
        return RedirectResponse(target + "#chat", 303)
    return await _failed(request, user, application_id, text, answer.status_code, _errors(answer)[0], back)


async def _failed(
    request: Request,
    user: dict[str, Any],
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
        chat = await chat_context(request, application_id)
        if chat.get("status") == 404:
            return page(request, "not_found.html", 404, user=user, message=chat.get("unavailable", ""))
        return chat_page(request, user, chat, status)
    from services.gateway.pages_applications import _application

    return await _application(request, user, application_id, status)
