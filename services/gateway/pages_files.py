"""Pages of the files service: «Типовые формы» (download, fill in online, staff publish a
new version) and «Мои файлы» (upload with a progress bar, list, download).

Uploads work without JavaScript: the form posts to a page route under ``/upload/``, which
streams the body on to the files API (nothing is parsed or buffered here). With JavaScript, ``/static/upload.js``
sends the file straight to the API with XHR to show progress, then lands on the same
page. CSRF: a multipart post, whose body the gateway does not parse, must come from the
cabinet's own pages (``Origin`` / ``Sec-Fetch-Site``, :func:`services.gateway.pages.same_origin`),
never with a token in the address; the script sends the token in ``X-CSRF-Token``. A failed
post goes back to its page (post/redirect/get).
"""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.gateway.format import day, size
from services.gateway.next_page import to_login
from services.gateway.pages import (
    STALE_FORM,
    UNAVAILABLE,
    _client,
    _errors,
    _form,
    _settings,
    _Stale,
    back,
    current_user,
    field_errors,
    idempotency,
    page,
    same_origin,
)
from services.gateway.proxy import edge_of

router = APIRouter(include_in_schema=False)

KIND_TITLES = {
    "application": "Типовые формы заявок на ТП",
    "act": "Типовые формы документов по ТП",
    "contract": "Типовые формы договоров об оказании услуг по ТП",
}
ALLOWED_TYPES = "PDF, JPEG, PNG, TIFF, ZIP, DOCX, XLSX, ODT"
FORM_TYPES = "DOCX, PDF, ODT, XLSX"
ACCEPT = ".pdf,.jpg,.jpeg,.png,.tif,.tiff,.zip,.docx,.xlsx,.odt"
FORM_ACCEPT = ".docx,.pdf,.odt,.xlsx"
FILL_FIELDS = (
    ("full_name", "Фамилия, имя, отчество (полное наименование заявителя)", "text", "name"),
    ("passport", "Паспорт: серия, номер, кем и когда выдан", "text", "off"),
    ("ogrn", "ОГРН (ОГРНИП)", "text", "off"),
    ("address", "Адрес места жительства (места нахождения)", "text", "street-address"),
    ("phone", "Телефон", "tel", "tel"),
    ("email", "E-mail", "email", "email"),
    ("object_name", "Наименование объекта (энергопринимающих устройств)", "text", "off"),
    ("object_address", "Адрес объекта", "text", "off"),
    ("max_power_kw", "Максимальная мощность, кВт", "text", "off"),
    ("voltage_kv", "Уровень напряжения, кВ", "text", "off"),
    ("reliability_category", "Категория надёжности (I, II или III)", "text", "off"),
)


def _megabytes(request: Request) -> str:
    return f"{_settings(request).max_upload_bytes / (1024 * 1024):g}"


async def _files_api(
    request: Request, method: str, path: str, *, auth: bool = False, **kwargs: Any
) -> httpx.Response:
    headers = {
        **edge_of(request),
        "user-agent": request.headers.get("user-agent", ""),
        **kwargs.pop("headers", {}),
    }
    token = request.cookies.get(_settings(request).session_cookie)
    if auth and token:
        headers["authorization"] = f"Bearer {token}"
    return await _client(request).call(method, "files", path, headers=headers, **kwargs)


async def _stream_upload(request: Request, path: str) -> httpx.Response:
    """Pass a browser's multipart body on to the files API as it arrives (with the form's
    Idempotency-Key from ``?idempotency_key=``: the body is streamed, not parsed here)."""
    headers = {"content-type": request.headers.get("content-type", ""), **idempotency(request.query_params)}
    if request.headers.get("content-length", "").isdigit():
        headers["content-length"] = request.headers["content-length"]
    return await _files_api(
        request,
        "POST",
        path,
        auth=True,
        headers=headers,
        content=request.stream(),
        timeout=httpx.Timeout(600.0, connect=2.0),
    )


# «Типовые формы» ----------------------------------------------------------------------------------------
async def _forms_context(request: Request) -> dict[str, Any]:
    answer = await _files_api(request, "GET", "/api/v1/forms")
    answer.raise_for_status()
    items: list[dict[str, Any]] = answer.json()["items"]
    for item in items:
        item["older"] = []
        if item["version"] > 1:
            versions = await _files_api(request, "GET", f"/api/v1/forms/{item['code']}/versions")
            if versions.status_code == 200:
                item["older"] = [v for v in versions.json()["items"] if v["id"] != item["id"]]
    groups = [(kind, title, [i for i in items if i["kind"] == kind]) for kind, title in KIND_TITLES.items()]
    return {"groups": groups}


@router.get("/forms")
async def forms_page(request: Request, published: str = "") -> Response:
    user = await current_user(request)
    try:
        context = await _forms_context(request)
    except (httpx.TransportError, httpx.HTTPStatusError, ValueError, KeyError):
        return page(request, "forms.html", 503, user=user, active="forms", groups=[], error=UNAVAILABLE)
    done = "Новая версия формы опубликована." if published else ""
    return page(
        request,
        "forms.html",
        user=user,
        active="forms",
        staff="staff" in (user or {}).get("roles", []),
        done=done,
        max_mb=_megabytes(request),
        max_bytes=_settings(request).max_upload_bytes,
        form_types=FORM_TYPES,
        form_accept=FORM_ACCEPT,
        **context,
    )


@router.post("/upload/form/{code}")
async def publish_form(request: Request, code: str) -> Response:
    """Staff: a new version of a form, without JavaScript (the script posts to the API)."""
    user = await current_user(request)
    if user is None:
        return RedirectResponse("/?tab=login", 303)
    if not same_origin(request):
        return back(request, "/forms", error=STALE_FORM)
    try:
        answer = await _stream_upload(request, f"/api/v1/forms/{code}/versions")
    except httpx.TransportError:
        return back(request, "/forms", error=UNAVAILABLE)
    if answer.status_code == 201:
        return RedirectResponse("/forms?published=1", 303)
    return back(request, "/forms", error=_errors(answer)[0])


async def _form_meta(request: Request, form_id: str) -> dict[str, Any] | None:
    answer = await _files_api(request, "GET", f"/api/v1/forms/{form_id}")
    return answer.json() if answer.status_code == 200 else None  # type: ignore[no-any-return]


@router.get("/forms/{form_id}/fill")
async def fill_page(request: Request, form_id: str) -> Response:
    user = await current_user(request)
    try:
        form = await _form_meta(request, form_id)
    except httpx.TransportError:
        return page(request, "forms_fill.html", 503, user=user, active="forms", form=None, error=UNAVAILABLE)
    if form is None or not form["fillable"]:
        return page(
            request, "forms_fill.html", 404, user=user, active="forms", form=None, error="Форма не найдена."
        )
    values = {"email": user["email"]} if user else {}
    return page(
        request, "forms_fill.html", user=user, active="forms", form=form, values=values, inputs=FILL_FIELDS
    )


@router.post("/forms/{form_id}/fill")
async def fill(request: Request, form_id: str) -> Response:
    user = await current_user(request)
    context: dict[str, Any] = {"user": user, "active": "forms", "inputs": FILL_FIELDS}
    try:
        form = await _form_meta(request, form_id)
    except httpx.TransportError:
        return page(request, "forms_fill.html", 503, form=None, error=UNAVAILABLE, **context)
    if form is None:
        return page(request, "forms_fill.html", 404, form=None, error="Форма не найдена.", **context)
    again = f"/forms/{form_id}/fill"  # a failed post goes back there (post/redirect/get)
    try:
        values = await _form(request)
    except _Stale:
        return back(request, again, error=STALE_FORM)
    values.pop("csrf", None)
    # Empty fields are left out, so the API names them as missing.
    body: dict[str, Any] = {k: v for k, *_ in FILL_FIELDS if (v := values.get(k, "").strip())}
    for number in ("max_power_kw", "voltage_kv"):
        if number in body:
            body[number] = body[number].replace(",", ".").replace(" ", "")
    try:
        answer = await _files_api(request, "POST", f"/api/v1/forms/{form_id}/fill", json=body)
    except httpx.TransportError:
        return back(request, again, values=values, error=UNAVAILABLE)
    if answer.status_code == 200:
        return Response(
            answer.content,
            media_type=answer.headers.get("content-type"),
            headers={
                "content-disposition": answer.headers.get("content-disposition", "attachment"),
                "cache-control": "no-store",
            },
        )
    summary, fields, _ = field_errors(answer, values)
    if "" in fields:  # a rule on the whole form (passport or ОГРН): the banner says it
        summary = fields.pop("")
    return back(request, again, values=values, fields=fields, error=summary)


# «Мои файлы» --------------------------------------------------------------------------------------------
FILES_PER_PAGE = 20


def _pageno(request: Request) -> int:
    raw = request.query_params.get("page", "1")
    return max(1, min(int(raw), 50_000)) if raw.isdigit() else 1


async def _files_page(request: Request, user: dict[str, Any], status: int = 200, **extra: Any) -> Response:
    files: list[dict[str, Any]] = []
    error, total, pageno = extra.pop("error", ""), 0, _pageno(request)
    query = f"limit={FILES_PER_PAGE}&offset={(pageno - 1) * FILES_PER_PAGE}"
    try:
        answer = await _files_api(request, "GET", f"/api/v1/files?{query}", auth=True)
        if answer.status_code == 200:
            files, total = answer.json()["items"], int(answer.json()["total"])
        else:
            error = error or _errors(answer)[0]
    except httpx.TransportError:
        error = error or UNAVAILABLE
    for item in files:
        item["size_text"] = size(item["size"])
        item["date_text"] = day(item["uploaded_at"])
    uploaded = request.query_params.get("uploaded", "")
    done = next((f"Файл «{f['name']}» загружен." for f in files if f["id"] == uploaded), "")
    return page(
        request,
        "files.html",
        status,
        user=user,
        active="files",
        files=files,
        done=done,
        error=error,
        pageno=pageno,
        pages=max(1, -(-total // FILES_PER_PAGE)),
        max_mb=_megabytes(request),
        max_bytes=_settings(request).max_upload_bytes,
        allowed=ALLOWED_TYPES,
        accept=ACCEPT,
        **extra,
    )


@router.get("/files")
async def files_page(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return to_login(request)
    return await _files_page(request, user)


async def _own_file(request: Request, file_id: str) -> dict[str, Any] | None:
    """The file's description when the caller may delete it."""
    try:
        answer = await _files_api(request, "GET", f"/api/v1/files/{file_id}/meta", auth=True)
    except httpx.TransportError:
        return None
    found: dict[str, Any] = answer.json() if answer.status_code == 200 else {}
    return found if found.get("deletable") else None


@router.get("/files/{file_id}/delete")
async def delete_confirmation(request: Request, file_id: str) -> Response:
    """The confirmation step of a deletion (a page, so no JavaScript is needed)."""
    user = await current_user(request)
    if user is None:
        return to_login(request)
    found = await _own_file(request, file_id)
    if found is None:
        return back(request, "/files", error=NOT_DELETABLE)
    return await _files_page(request, user, confirm_file=found)


NOT_DELETABLE = "Этот файл удалить нельзя: он приложен к заявке или к сообщению переписки, или его уже нет."


@router.post("/files/{file_id}/delete")
async def delete_file(request: Request, file_id: str) -> Response:
    user = await current_user(request)
    if user is None:
        return to_login(request)
    try:
        await _form(request)
    except _Stale:
        return back(request, "/files", error=STALE_FORM)
    found = await _own_file(request, file_id)
    try:
        answer = await _files_api(request, "DELETE", f"/api/v1/files/{file_id}", auth=True)
    except httpx.TransportError:
        return back(request, "/files", error=UNAVAILABLE)
    if answer.status_code == 204:
        return back(request, "/files", done=f"Файл «{(found or {}).get('name', '')}» удалён.")
    return back(request, "/files", error=_errors(answer)[0])


@router.post("/upload/file")
async def upload(request: Request) -> Response:
    user = await current_user(request)
    if user is None:
        return RedirectResponse("/?tab=login", 303)
    if not same_origin(request):
        return back(request, "/files", error=STALE_FORM)
    try:
        answer = await _stream_upload(request, "/api/v1/files")
    except httpx.TransportError:
        return back(request, "/files", error=UNAVAILABLE)
    if answer.status_code == 201:
        return RedirectResponse(f"/files?uploaded={answer.json()['id']}", 303)
    return back(request, "/files", error=_errors(answer)[0])
