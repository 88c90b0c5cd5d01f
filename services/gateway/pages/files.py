"""«Мои файлы»: upload with a progress bar, the list (paginated), download, and deleting an
upload attached to nothing (after a confirmation page).

Uploads work without JavaScript: the form posts to a page route under ``/upload/``, which
streams the body on to the files API (nothing is parsed or buffered here). With JavaScript,
``/static/upload.js`` sends the file straight to the API with XHR to show progress, then
lands on the same page. CSRF: a multipart post, whose body the gateway does not parse, must
come from the cabinet's own pages (:func:`services.gateway.pages.post.same_origin`), never
with a token in the address; the script sends the token in ``X-CSRF-Token``.
"""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.gateway.format import day, size
from services.gateway.pages.calls import SIGNED_IN, UNAVAILABLE, SignedIn, User, api, idempotency, refusal_of
from services.gateway.pages.post import Post
from services.gateway.pages.render import back, page
from services.gateway.state import gateway_of

router = APIRouter(include_in_schema=False)

ALLOWED_TYPES = "PDF, JPEG, PNG, TIFF, ZIP, DOCX, XLSX, ODT"
ACCEPT = ".pdf,.jpg,.jpeg,.png,.tif,.tiff,.zip,.docx,.xlsx,.odt"
FILES_PER_PAGE = 20
NOT_DELETABLE = "Этот файл удалить нельзя: он приложен к заявке или к сообщению переписки, или его уже нет."


def upload_limits(request: Request) -> dict[str, Any]:
    """The largest upload, for the upload forms: in MB for the person, in bytes for the script."""
    limit = gateway_of(request).settings.max_upload_bytes
    return {"max_mb": f"{limit / (1024 * 1024):g}", "max_bytes": limit}


async def stream_upload(request: Request, again: str, path: str) -> httpx.Response:
    """Pass a browser's multipart body on to the files API as it arrives (with the form's
    Idempotency-Key from ``?idempotency_key=``: the body is streamed, not parsed here); the
    answer 201, or back to ``again`` with the refusal."""
    post = Post.streamed(request, again)
    headers = {"content-type": request.headers.get("content-type", ""), **idempotency(request.query_params)}
    if request.headers.get("content-length", "").isdigit():
        headers["content-length"] = request.headers["content-length"]
    timeout = httpx.Timeout(600.0, connect=2.0)
    return await post.call(
        "POST", path, ok=201, auth=True, headers=headers, content=request.stream(), timeout=timeout
    )


def _pageno(request: Request) -> int:
    raw = request.query_params.get("page", "1")
    return max(1, min(int(raw), 50_000)) if raw.isdigit() else 1


async def _files_page(request: Request, user: User, **extra: Any) -> Response:
    files: list[dict[str, Any]] = []
    error, total, pageno = "", 0, _pageno(request)
    query = f"limit={FILES_PER_PAGE}&offset={(pageno - 1) * FILES_PER_PAGE}"
    try:
        answer = await api(request, "GET", f"/api/v1/files?{query}", auth=True)
        if answer.status_code == 200:
            files, total = answer.json()["items"], int(answer.json()["total"])
        else:
            error = refusal_of(answer).message
    except httpx.TransportError:
        error = UNAVAILABLE
    for item in files:
        item["size_text"] = size(item["size"])
        item["date_text"] = day(item["uploaded_at"])
    uploaded = request.query_params.get("uploaded", "")
    done = next((f"Файл «{f['name']}» загружен." for f in files if f["id"] == uploaded), "")
    return page(
        request,
        "files.html",
        user=user,
        active="files",
        files=files,
        done=done,
        error=error,
        pageno=pageno,
        pages=max(1, -(-total // FILES_PER_PAGE)),
        allowed=ALLOWED_TYPES,
        accept=ACCEPT,
        **upload_limits(request),
        **extra,
    )


@router.get("/files")
async def files_page(request: Request, user: SignedIn) -> Response:
    return await _files_page(request, user)


async def _own_file(request: Request, file_id: str) -> dict[str, Any] | None:
    """The file's description when the caller may delete it."""
    try:
        answer = await api(request, "GET", f"/api/v1/files/{file_id}/meta", auth=True)
    except httpx.TransportError:
        return None
    found: dict[str, Any] = answer.json() if answer.status_code == 200 else {}
    return found if found.get("deletable") else None


@router.get("/files/{file_id}/delete")
async def delete_confirmation(request: Request, file_id: str, user: SignedIn) -> Response:
    """The confirmation step of a deletion (a page, so no JavaScript is needed)."""
    found = await _own_file(request, file_id)
    if found is None:
        return back(request, "/files", error=NOT_DELETABLE)
    return await _files_page(request, user, confirm_file=found)


@router.post("/files/{file_id}/delete", dependencies=[SIGNED_IN])
async def delete_file(request: Request, file_id: str) -> Response:
    post = await Post.read(request, "/files")
    found = await _own_file(request, file_id)
    await post.call("DELETE", f"/api/v1/files/{file_id}", ok=204, auth=True)
    return back(request, "/files", done=f"Файл «{(found or {}).get('name', '')}» удалён.")


@router.post("/upload/file", dependencies=[SIGNED_IN])
async def upload(request: Request) -> Response:
    answer = await stream_upload(request, "/files", "/api/v1/files")
    return RedirectResponse(f"/files?uploaded={answer.json()['id']}", 303)
