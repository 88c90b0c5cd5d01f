"""The chat as the pages show it: the ``_chat.html`` partial's context (:func:`chat_context`,
for the application page and the chat's own page).

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
from fastapi import Request

from services.gateway.format import size as size_text
from services.gateway.format import when
from services.gateway.pages.calls import api, refusal_of

PAGE_MESSAGES = 50


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


def _unavailable(context: dict[str, Any], answer: httpx.Response) -> dict[str, Any]:
    context.update(unavailable=refusal_of(answer).message, status=answer.status_code)
    return context


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
        summary = await api(request, "GET", f"{base}/chat", auth=True)
        if summary.status_code != 200:
            return _unavailable(context, summary)
        history = await api(request, "GET", f"{base}/messages?{query}", auth=True)
    except httpx.TransportError:
        context["unavailable"] = "Переписка временно недоступна, попробуйте через минуту."
        context["status"] = 503
        return context
    if history.status_code != 200:
        return _unavailable(context, history)
    info, body = summary.json(), history.json()
    me, role = info["you"]["account_id"], info["you"]["role"]
    messages = [message_view(m, me, info["other_read_up_to"]) for m in body["items"]]
    newest_page = not before
    if newest_page and info["unread"] and body["last_seq"]:
        # The page shows them: a read receipt, as the socket would send for a visible page.
        with contextlib.suppress(httpx.TransportError):
            read = {"up_to_seq": body["last_seq"]}
            await api(request, "POST", f"{base}/messages/read", auth=True, json=read)
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
