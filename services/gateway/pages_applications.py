"""Pages of applications: «Подача заявки на ТП» (catalog → type → form → send),
«Заявки на услуги» (the consumer's list, the staff queue, with unread chat messages) and the
application page (history, documents, deadline, contact, the chat, staff transitions,
withdrawal, requested documents). A failed form post goes back to its page
(post/redirect/get) with the messages at the fields and the files already uploaded kept."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from services.gateway import slots
from services.gateway.format import day, when
from services.gateway.next_page import to_login
from services.gateway.pages import (
    STALE_FORM,
    UNAVAILABLE,
    _errors,
    _form,
    _Stale,
    api,
    back,
    current_user,
    idempotency,
    page,
)
from services.gateway.pages_chat import chat_context

router = APIRouter(include_in_schema=False)

MAX_FORM_BYTES = 220 * 1024 * 1024  # a form may carry several scans; files has its own per-file limit
PAGE_SIZE = 20
STATUS_FILTERS = [
    ("submitted", "Подана"),
    ("in_work", "В работе"),
    ("needs_documents", "Требуются документы"),
    ("contract", "Заключение договора ТП"),
    ("activities", "Выполнение мероприятий по ТП"),
    ("tu_check", "Проверка выполнения ТУ"),
    ("acts", "Подготовка актов ТП"),
    ("completed", "Заявка выполнена"),
    ("annulled", "Аннулирована"),
]


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


async def _get_json(request: Request, path: str, *, auth: bool = True) -> tuple[int, Any]:
    answer = await api(request, "GET", path, auth=auth, service="applications")
    return answer.status_code, answer.json()


# «Подача заявки на ТП» ------------------------------------------------------------------------
@router.get("/apply")
async def catalog(request: Request) -> Response:
    user = await current_user(request)
    try:
        _, body = await _get_json(request, "/api/v1/application-types", auth=False)
    except httpx.TransportError:
        return page(request, "apply_list.html", 503, user=user, active="apply", types=[], error=UNAVAILABLE)
    return page(request, "apply_list.html", user=user, active="apply", types=body["items"])


@router.get("/apply/{code}")
async def type_page(code: str, request: Request) -> Response:
    user = await current_user(request)
    status, body = await _get_json(request, f"/api/v1/application-types/{code}", auth=False)
    if status != 200:
        return page(request, "not_found.html", 404, user=user, message=body.get("message", ""))
    return page(request, "apply_type.html", user=user, active="apply", kind=body)


@router.get("/apply/{code}/new")
async def new_application(code: str, request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return to_login(request)
    status, body = await _get_json(request, f"/api/v1/application-types/{code}", auth=False)
    if status != 200:
        return page(request, "not_found.html", 404, user=user, message=body.get("message", ""))
    return page(
        request,
        "apply_form.html",
        user=user,
        active="apply",
        kind=body,
        slots=slots.slots_of(body),
        accept=slots.ACCEPT,
        values={"email": user["email"]},
    )


async def _multipart(request: Request, max_files: int, max_fields: int) -> FormData | str:
    """The posted form, or why it cannot be read (the size says first, then the CSRF field)."""
    if _too_big(request):
        return "Слишком большой объём файлов: не более 200 МБ за раз."
    try:
        form = await request.form(max_files=max_files, max_fields=max_fields)
    except Exception:  # noqa: BLE001 - a malformed multipart body is the client's error
        return "Не удалось прочитать форму. Повторите отправку."
    csrf = form.get("csrf")
    if not csrf or csrf != request.cookies.get("lk_csrf"):
        await form.close()
        return STALE_FORM
    return form


def _submission(code: str, values: dict[str, str], documents: list[dict[str, str]]) -> dict[str, Any]:
    try:
        power = float(values.get("power_kw", "").replace(",", ".").replace(" ", ""))
    except ValueError:
        power = 0.0
    return {
        "type_code": code,
        "power_kw": power,
        "object_address": values.get("object_address", ""),
        "contact": {"phone": values.get("phone", ""), "email": values.get("email", "")},
        "documents": [{"slot": d["slot"], "file_id": d["file_id"]} for d in documents],
        "comment": values.get("comment", ""),
    }


TEXT_FIELDS = ("power_kw", "object_address", "phone", "email", "comment")


@router.post("/apply/{code}/new")
async def send_application(code: str, request: Request) -> Response:
    """«Отправить заявку на ТП»: upload the attached scans, then submit."""
    user = await current_user(request)
    if user is None:
        return to_login(request)
    again = f"/apply/{code}/new"
    status, kind = await _get_json(request, f"/api/v1/application-types/{code}", auth=False)
    if status != 200:
        return page(request, "not_found.html", 404, user=user, message=kind.get("message", ""))
    form = await _multipart(request, max_files=40, max_fields=80)
    if isinstance(form, str):
        return back(request, again, error=form)
    values = {k: str(form.get(k, "")) for k in TEXT_FIELDS}
    try:
        attached = await slots.collect(request, form, kind)
    finally:
        await form.close()
    if attached.problems:
        return back(
            request,
            again,
            error="Файлы не приняты: " + " ".join(attached.problems.values()),
            fields=attached.problems,
            values=values,
            kept=attached.documents,
        )
    body = _submission(code, values, attached.documents)
    answer = await api(
        request,
        "POST",
        "/api/v1/applications",
        auth=True,
        service="applications",
        json=body,
        headers=idempotency(form, "application"),
    )
    if answer.status_code == 201:
        number = answer.json()["number"]
        return RedirectResponse("/applications?" + urlencode({"submitted": number}), 303)
    summary, fields = slots.refusal(answer, kind, attached.documents)
    return back(request, again, error=summary, fields=fields, values=values, kept=attached.documents)


# «Заявки на услуги» ---------------------------------------------------------------------------
def _listed(item: dict[str, Any]) -> dict[str, Any]:
    item["deadline_text"] = deadline_text(item["deadline"])
    item["submitted"] = when(item["submitted_at"])
    item["updated"] = when(item["updated_at"])
    item["unread_text"] = unread_text(int(item.get("unread_messages") or 0))
    return item


@router.get("/applications")
async def applications(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return to_login(request)
    params = {k: v for k, v in request.query_params.items() if k in ("status", "type", "q", "overdue") and v}
    try:
        pageno = max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        pageno = 1
    query = urlencode({**params, "limit": PAGE_SIZE, "offset": (pageno - 1) * PAGE_SIZE})
    status, body = await _get_json(request, f"/api/v1/applications?{query}")
    if status != 200:
        return page(
            request,
            "applications.html",
            status,
            user=user,
            active="applications",
            items=[],
            error=body.get("message", UNAVAILABLE),
            filters=params,
            statuses=STATUS_FILTERS,
        )
    pages = max(1, -(-int(body["total"]) // PAGE_SIZE))
    return page(
        request,
        "applications.html",
        user=user,
        active="applications",
        items=[_listed(item) for item in body["items"]],
        total=body["total"],
        pageno=pageno,
        pages=pages,
        filters=params,
        filter_query=urlencode(params),
        statuses=STATUS_FILTERS,
        submitted=request.query_params.get("submitted", ""),
    )


async def _checklist(request: Request, item: dict[str, Any], user: dict[str, Any]) -> list[dict[str, Any]]:
    """The slots the applicant may send documents for, when staff asked for them."""
    if "staff" in user["roles"] or item["status"] != "needs_documents":
        return []
    status, kind = await _get_json(request, f"/api/v1/application-types/{item['type_code']}", auth=False)
    return slots.slots_of(kind if status == 200 else {})


async def _application(
    request: Request, user: dict[str, Any], application_id: str, status: int = 200, **context: Any
) -> Response:
    code, body = await _get_json(request, f"/api/v1/applications/{application_id}")
    if code != 200:
        return page(request, "not_found.html", 404, user=user, message=body.get("message", ""))
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
        steps=[(s, names.get(s, s)) for s in body["allowed_transitions"]],
        slots=await _checklist(request, body, user),
        accept=slots.ACCEPT,
        chat=await chat_context(request, application_id),
        **context,
    )


@router.get("/applications/{application_id}")
async def application_page(application_id: str, request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return to_login(request)
    return await _application(request, user, application_id)


@router.post("/applications/{application_id}/transition")
async def transition(application_id: str, request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return to_login(request)
    here = f"/applications/{application_id}"
    try:
        form = await _form(request)
    except _Stale:
        return back(request, here, error=STALE_FORM)
    to_status, comment = form.get("to_status", ""), form.get("comment", "")
    staff = "staff" in user["roles"]
    if not to_status:
        return back(
            request, here, error="Выберите новый статус.", fields={"to_status": "Выберите новый статус."}
        )
    if to_status == "annulled" and form.get("confirm") != "yes":
        return _confirm_annulment(request, here, staff, comment, form.get("expected_version", ""))
    body: dict[str, Any] = {"to_status": to_status, "comment": comment}
    if form.get("expected_version", "").isdigit():
        body["expected_version"] = int(form["expected_version"])
    answer = await api(
        request,
        "POST",
        f"/api/v1/applications/{application_id}/transitions",
        auth=True,
        service="applications",
        json=body,
    )
    if answer.status_code == 200:
        return RedirectResponse(here, 303)
    summary, _, code = _errors(answer)
    return back(
        request, here, error=summary, fields={"comment": summary} if code == "reason_required" else {}
    )


def _confirm_annulment(request: Request, here: str, staff: bool, comment: str, version: str) -> Response:
    """Annulment cannot be undone: the applicant ticks a box, staff confirm on a second step."""
    if not staff:
        return back(
            request, here, error="Подтвердите отзыв заявки: отметьте флажок и нажмите кнопку ещё раз."
        )
    if not comment.strip():
        reason = "Укажите причину аннулирования заявки."
        return back(request, here, error=reason, fields={"comment": reason}, values={"comment": comment})
    return back(request, here, confirm_annul={"comment": comment, "expected_version": version})


def _too_big(request: Request) -> bool:
    """Upload forms must say their size up front, and stay within MAX_FORM_BYTES."""
    length = request.headers.get("content-length", "")
    return not length.isdigit() or int(length) > MAX_FORM_BYTES


DOCUMENTS_SENT = (
    "Документы отправлены. Заявка снова в работе: срок этапа считается с сегодняшнего дня, "
    "сотрудник сетевой организации получил уведомление."
)


@router.post("/apply/documents/{application_id}")
async def add_documents(application_id: str, request: Request) -> Response:
    """The documents staff asked for, per checklist slot or as one ZIP archive."""
    user = await current_user(request)
    if user is None:
        return to_login(request)
    here = f"/applications/{application_id}"
    code, item = await _get_json(request, f"/api/v1/applications/{application_id}")
    if code != 200:
        return page(request, "not_found.html", 404, user=user, message=item.get("message", ""))
    _, kind = await _get_json(request, f"/api/v1/application-types/{item['type_code']}", auth=False)
    form = await _multipart(request, max_files=40, max_fields=80)
    if isinstance(form, str):
        return back(request, here, error=form)
    try:
        attached = await slots.collect(request, form, kind)
    finally:
        await form.close()
    if attached.problems or not attached.documents:
        error = "Файлы не приняты: " + " ".join(attached.problems.values()) if attached.problems else ""
        fields = attached.problems or {"documents": "Выберите хотя бы один файл."}
        return back(
            request,
            here,
            error=error or "Выберите файлы для отправки.",
            fields=fields,
            kept=attached.documents,
        )
    documents = [{"slot": d["slot"], "file_id": d["file_id"]} for d in attached.documents]
    answer = await api(
        request,
        "POST",
        f"/api/v1/applications/{application_id}/documents",
        auth=True,
        service="applications",
        json={"documents": documents},
    )
    if answer.status_code == 200:
        return back(request, here, done=DOCUMENTS_SENT)
    summary, fields = slots.refusal(answer, kind, attached.documents)
    return back(request, here, error=summary, fields=fields, kept=attached.documents)
