"""«Заявки на услуги» (the consumer's list, the staff queue, with unread chat messages) and
the application page (history, documents, deadline, contact, the chat, staff transitions,
withdrawal, requested documents)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.gateway.format import day, when
from services.gateway.pages import slots, staff
from services.gateway.pages.calls import UNAVAILABLE, SignedIn, User, api, get_json, refusal_of
from services.gateway.pages.chat_view import chat_context
from services.gateway.pages.post import Post
from services.gateway.pages.process import process_context
from services.gateway.pages.render import not_found, page
from services.gateway.pages.request_view import request_context
from services.gateway.pages.termination import termination_context
from shared.statuses import FILTERS

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 20
STATUS_FILTERS = FILTERS  # shared/statuses.py: the same words as the API and the e-mails


def plural(n: int, one: str, few: str, many: str) -> str:
    n = abs(n)
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


def deadline_text(deadline: dict[str, Any] | None) -> str:
    if not deadline:
        return ""
    due = day(deadline["due"])
    left = int(deadline["working_days_left"])
    if deadline["overdue"]:
        return f"срок истёк {due}"
    word = plural(left, "рабочий день", "рабочих дня", "рабочих дней")
    return f"осталось {left} {word} (до {due})"


def unread_text(count: int) -> str:
    """«3 непрочитанных сообщения»: the badge's accessible name."""
    word = plural(count, "непрочитанное сообщение", "непрочитанных сообщения", "непрочитанных сообщений")
    return f"{count} {word}" if count else ""


def _listed(item: dict[str, Any]) -> dict[str, Any]:
    item["deadline_text"] = deadline_text(item["deadline"])
    item["submitted"] = when(item["submitted_at"])
    item["updated"] = when(item["updated_at"])
    item["unread_text"] = unread_text(int(item.get("unread_messages") or 0))
    return item


# The queue's filters beyond status and search (the API's query parameters of the same names).
OVERDUE_FILTERS = (
    ("true", "просрочен"),
    ("grid_company", "Просрочено сетевой организацией"),
    ("applicant", "Просрочено заявителем"),
)
WAITING_FILTERS = (("applicant", "Ждём заявителя"), ("grid_company", "Ждёт сетевую организацию"))
ASSIGNEE_FILTERS = (("me", "Мои заявки"), ("none", "Без исполнителя"))
QUICK_FILTERS = (  # one click to the lists staff live in
    ("Мои заявки", {"assignee": "me"}),
    ("Просрочено сетевой организацией", {"overdue": "grid_company"}),
    ("Ждём заявителя", {"waiting": "applicant"}),
)
QUEUE_PARAMS = ("status", "type", "q", "overdue", "waiting", "assignee")


@router.get("/applications")
async def applications(request: Request, user: SignedIn) -> Response:
    params = {k: v for k, v in request.query_params.items() if k in QUEUE_PARAMS and v}
    try:
        pageno = max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        pageno = 1
    query = urlencode({**params, "limit": PAGE_SIZE, "offset": (pageno - 1) * PAGE_SIZE})
    status, body = await get_json(request, f"/api/v1/applications?{query}")
    shown: dict[str, Any] = {
        "user": user,
        "active": "applications",
        "filters": params,
        "statuses": STATUS_FILTERS,
        "overdue_filters": OVERDUE_FILTERS,
        "waiting_filters": WAITING_FILTERS,
        "assignee_filters": ASSIGNEE_FILTERS,
        "quick": [(title, urlencode(q), q.items() <= params.items()) for title, q in QUICK_FILTERS],
    }
    if status != 200:
        error = body.get("message", UNAVAILABLE)
        return page(request, "applications.html", status, items=[], error=error, **shown)
    return page(
        request,
        "applications.html",
        items=[_listed(item) for item in body["items"]],
        total=body["total"],
        pageno=pageno,
        pages=max(1, -(-int(body["total"]) // PAGE_SIZE)),
        filter_query=urlencode(params),
        submitted=request.query_params.get("submitted", ""),
        **shown,
    )


async def _checklist(request: Request, item: dict[str, Any], user: User) -> list[dict[str, Any]]:
    """The slots the applicant may send documents for, when staff asked for them."""
    if "staff" in user["roles"] or item["status"] != "needs_documents":
        return []
    status, kind = await get_json(request, f"/api/v1/application-types/{item['type_code']}", auth=False)
    return slots.slots_of(kind if status == 200 else {})


async def application_view(
    request: Request, user: User, application_id: str, status: int = 200, **context: Any
) -> Response:
    """The application page (with its chat), answered with ``status``."""
    code, body = await get_json(request, f"/api/v1/applications/{application_id}")
    if code != 200:
        return not_found(request, user, body)
    body["deadline_text"] = deadline_text(body["deadline"])
    for step in body["timeline"]:
        step["when"] = when(step["at"])
    names = dict(STATUS_FILTERS)
    return page(
        request,
        "application.html",
        status,
        user=user,
        active="applications",
        item=body,
        steps=[(s, names.get(s, s)) for s in staff.plain_moves(body, user)],
        slots=await _checklist(request, body, user),
        accept=slots.ACCEPT,
        chat=await chat_context(request, application_id),
        desk=await staff.desk(request, body, user),  # the staff's actions (pages/staff.py)
        **process_context(body, user),
        **termination_context(body, user),
        **request_context(body, user),  # the application as filed (pages/request_view.py)
        **context,
    )


@router.get("/applications/{application_id}")
async def application_page(application_id: str, request: Request, user: SignedIn) -> Response:
    return await application_view(request, user, application_id)


@router.post("/applications/{application_id}/transition")
async def transition(application_id: str, request: Request, user: SignedIn) -> Response:
    here = f"/applications/{application_id}"
    post = await Post.read(request, here)
    to_status, comment = post.form.get("to_status", ""), post.form.get("comment", "")
    if not to_status:
        post.fail(error="Выберите новый статус.", fields={"to_status": "Выберите новый статус."})
    version = post.form.get("expected_version", "")
    if to_status == "annulled" and post.form.get("confirm") != "yes":
        return _confirm_annulment(post, "staff" in user["roles"], comment, version)
    body: dict[str, Any] = {"to_status": to_status, "comment": comment}
    if version.isdigit():
        body["expected_version"] = int(version)
    answer = await api(
        request, "POST", f"/api/v1/applications/{application_id}/transitions", auth=True, json=body
    )

    def refused(answer: Any) -> dict[str, Any]:
        summary, _, code = refusal_of(answer)
        return {"error": summary, "fields": {"comment": summary} if code == "reason_required" else {}}

    post.check(answer, ok=200, refused=refused)
    return RedirectResponse(here, 303)


def _confirm_annulment(post: Post, staff: bool, comment: str, version: str) -> Response:
    """Annulment cannot be undone: the applicant ticks a box, staff confirm on a second step."""
    if not staff:
        return post.back(error="Подтвердите отзыв заявки: отметьте флажок и нажмите кнопку ещё раз.")
    if not comment.strip():
        reason = "Укажите причину аннулирования заявки."
        return post.back(error=reason, fields={"comment": reason}, values={"comment": comment})
    return post.back(confirm_annul={"comment": comment, "expected_version": version})
