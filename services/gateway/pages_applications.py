"""Pages of applications: «Подача заявки на ТП» (catalog → type → form → send),
«Заявки на услуги» (the consumer's list, the staff queue) and the application page
(timeline, documents, deadline, staff transitions, withdrawal, requested documents)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from services.gateway.format import day, when
from services.gateway.pages import STALE_FORM, UNAVAILABLE, _errors, _form, _Stale, api, current_user, page

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
        return RedirectResponse("/?tab=login", 303)
    status, body = await _get_json(request, f"/api/v1/application-types/{code}", auth=False)
    if status != 200:
        return page(request, "not_found.html", 404, user=user, message=body.get("message", ""))
    return page(
        request, "apply_form.html", user=user, active="apply", kind=body, values={"email": user["email"]}
    )


async def _upload(request: Request, upload: UploadFile) -> tuple[str | None, str]:
    """Send one attached scan to the files service; (file id, error message)."""
    files = {
        "file": (upload.filename or "file", upload.file, upload.content_type or "application/octet-stream")
    }
    answer = await api(request, "POST", "/api/v1/files", auth=True, service="files", files=files)
    if answer.status_code == 201:
        return str(answer.json()["id"]), ""
    return None, f"«{upload.filename}»: {_errors(answer)[0]}"


@router.post("/apply/{code}/new")
async def send_application(code: str, request: Request) -> Response:
    """«Отправить заявку на ТП»: upload the attached scans, then submit."""
    user = await current_user(request)
    if user is None:
        return RedirectResponse("/?tab=login", 303)
    status, kind = await _get_json(request, f"/api/v1/application-types/{code}", auth=False)
    if status != 200:
        return page(request, "not_found.html", 404, user=user, message=kind.get("message", ""))
    if _too_big(request):
        return page(
            request,
            "apply_form.html",
            413,
            user=user,
            active="apply",
            kind=kind,
            values={},
            error="Слишком большой объём файлов: не более 200 МБ за раз.",
        )
    try:
        form = await request.form(max_files=40, max_fields=60)
    except Exception:  # noqa: BLE001 - a malformed multipart body is the client's error
        return page(
            request,
            "apply_form.html",
            400,
            user=user,
            active="apply",
            kind=kind,
            values={},
            error="Не удалось прочитать форму. Повторите отправку.",
        )
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    if values.get("csrf", "") != request.cookies.get("lk_csrf", "") or not values.get("csrf"):
        return page(
            request,
            "apply_form.html",
            403,
            user=user,
            active="apply",
            kind=kind,
            values=values,
            error=STALE_FORM,
        )
    slots = [d["code"] for d in kind["documents"]] + ["archive"]
    documents, problems = [], []
    for slot in slots:
        for item in form.getlist(f"doc_{slot}"):
            if isinstance(item, UploadFile) and item.filename:
                file_id, problem = await _upload(request, item)
                if file_id:
                    documents.append({"slot": slot, "file_id": file_id})
                else:
                    problems.append(problem)
    await form.close()
    if problems:
        return page(
            request,
            "apply_form.html",
            422,
            user=user,
            active="apply",
            kind=kind,
            values=values,
            error="Файлы не приняты: " + " ".join(problems),
        )
    try:
        power = float(values.get("power_kw", "").replace(",", "."))
    except ValueError:
        power = 0.0
    body = {
        "type_code": code,
        "power_kw": power,
        "object_address": values.get("object_address", ""),
        "contact": {"phone": values.get("phone", ""), "email": values.get("email", "")},
        "documents": documents,
        "comment": values.get("comment", ""),
    }
    answer = await api(request, "POST", "/api/v1/applications", auth=True, service="applications", json=body)
    if answer.status_code == 201:
        number = answer.json()["number"]
        return RedirectResponse("/applications?" + urlencode({"submitted": number}), 303)
    summary, fields, _ = _errors(answer)
    fields = {k.replace("contact.", ""): v for k, v in fields.items()}
    return page(
        request,
        "apply_form.html",
        answer.status_code,
        user=user,
        active="apply",
        kind=kind,
        values=values,
        fields=fields,
        error=summary,
    )


# «Заявки на услуги» ---------------------------------------------------------------------------
@router.get("/applications")
async def applications(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return RedirectResponse("/?tab=login", 303)
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
    for item in body["items"]:
        item["deadline_text"] = deadline_text(item["deadline"])
        item["submitted"] = when(item["submitted_at"])
        item["updated"] = when(item["updated_at"])
    return page(
        request,
        "applications.html",
        user=user,
        active="applications",
        items=body["items"],
        total=body["total"],
        pageno=pageno,
        pages=pages,
        filters=params,
        filter_query=urlencode(params),
        statuses=STATUS_FILTERS,
        submitted=request.query_params.get("submitted", ""),
    )


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
        **context,
    )


@router.get("/applications/{application_id}")
async def application_page(application_id: str, request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return RedirectResponse("/?tab=login", 303)
    return await _application(request, user, application_id)


@router.post("/applications/{application_id}/transition")
async def transition(application_id: str, request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return RedirectResponse("/?tab=login", 303)
    try:
        form = await _form(request)
    except _Stale:
        return await _application(request, user, application_id, 403, error=STALE_FORM)
    to_status = form.get("to_status", "")
    if to_status == "annulled" and "staff" not in user["roles"] and form.get("confirm") != "yes":
        return await _application(
            request,
            user,
            application_id,
            422,
            error="Подтвердите отзыв заявки: отметьте флажок и нажмите кнопку ещё раз.",
        )
    body: dict[str, Any] = {"to_status": to_status, "comment": form.get("comment", "")}
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
        return RedirectResponse(f"/applications/{application_id}", 303)
    return await _application(request, user, application_id, answer.status_code, error=_errors(answer)[0])


def _too_big(request: Request) -> bool:
    """Upload forms must say their size up front, and stay within MAX_FORM_BYTES."""
    length = request.headers.get("content-length", "")
    return not length.isdigit() or int(length) > MAX_FORM_BYTES


@router.post("/apply/documents/{application_id}")
async def add_documents(application_id: str, request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return RedirectResponse("/?tab=login", 303)
    if _too_big(request):
        return await _application(
            request, user, application_id, 413, error="Слишком большой объём файлов: не более 200 МБ за раз."
        )
    form = await request.form(max_files=20, max_fields=20)
    if form.get("csrf") != request.cookies.get("lk_csrf") or not form.get("csrf"):
        return await _application(request, user, application_id, 403, error=STALE_FORM)
    slot = str(form.get("slot", "archive"))
    documents, problems = [], []
    for item in form.getlist("files"):
        if isinstance(item, UploadFile) and item.filename:
            file_id, problem = await _upload(request, item)
            if file_id:
                documents.append({"slot": slot, "file_id": file_id})
            else:
                problems.append(problem)
    await form.close()
    if problems or not documents:
        return await _application(
            request,
            user,
            application_id,
            422,
            error="Файлы не приняты: " + (" ".join(problems) or "выберите файлы."),
        )
    answer = await api(
        request,
        "POST",
        f"/api/v1/applications/{application_id}/documents",
        auth=True,
        service="applications",
        json={"documents": documents},
    )
    if answer.status_code == 200:
        return RedirectResponse(f"/applications/{application_id}", 303)
    return await _application(request, user, application_id, answer.status_code, error=_errors(answer)[0])
