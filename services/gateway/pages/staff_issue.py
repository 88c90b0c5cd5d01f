"""«Сформировать по типовой форме» on the staff's desk (issue 12, point 1): a company document
made from a standard form filled with the application's data (``POST /api/v1/forms/{id}/issue``,
the files service), then placed on the application (``company-documents``) as an uploaded one
would be. Both calls carry keys derived from the form's key, so a repeated post makes one file
and places it once. A closing act goes through the same confirmation step as an upload, since
it completes the application. The template is ``_process_staff.html``."""

from __future__ import annotations

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.gateway.pages.calls import SIGNED_IN, get_json, idempotency
from services.gateway.pages.post import Post
from services.gateway.pages.render import back
from services.gateway.pages.staff import CLOSING, KINDS, completed, here
from services.gateway.pages.staff_fields import refused
from services.gateway.pages.staff_forms import FORMS, LABELS, MAX_VALUE, kind_of

router = APIRouter(include_in_schema=False)


async def _form_id(post: Post, code: str) -> str:
    """The current version of the standard form ``code`` (the files service's list)."""
    try:
        status, listed = await get_json(post.request, "/api/v1/forms", auth=False)
    except httpx.TransportError:
        status, listed = 503, {}
    found = [f for f in listed.get("items", []) if f.get("code") == code] if status == 200 else []
    if not found:
        post.fail(error="Типовая форма сейчас недоступна. Загрузите документ файлом или повторите позже.")
    return str(max(found, key=lambda f: int(f.get("version", 0)))["id"])


@router.post("/applications/{application_id}/desk/issue", dependencies=[SIGNED_IN])
async def issue_document(application_id: str, request: Request) -> Response:
    """The chosen form filled with the values typed (the application's data prefilled), kept as
    the staff member's file, then placed; a closing act asks first."""
    post = await Post.read(request, here(application_id) + "#issue-form")
    choice = post.form.get("issue_kind", "")
    values = {name: post.form.get(f"issue_{name}", "").strip() for name in LABELS}
    post.keep(values={"issue_kind": choice, **{f"issue_{n}": v for n, v in values.items()}})
    if choice not in FORMS:
        post.fail(error="Проверьте заполнение полей.", fields={"issue_kind": "Выберите документ."})
    code, names = FORMS[choice]
    kind = kind_of(choice)
    long = {f"issue_{n}": f"Не более {MAX_VALUE} символов." for n in names if len(values[n]) > MAX_VALUE}
    if long:
        post.fail(error="Проверьте заполнение полей.", fields=long)
    title = dict(KINDS)[kind]
    body = {"values": {n: values[n] for n in names if values[n]}, "name": title}
    made = await post.call(
        "POST",
        f"/api/v1/forms/{await _form_id(post, code)}/issue",
        ok=201,
        auth=True,
        json=body,
        headers=idempotency(post.form, "issue"),
    )
    file = {"id": str(made.json()["id"]), "name": str(made.json()["name"])}
    if kind in CLOSING and not await completed(request, application_id):
        key = post.form.get("idempotency_key", "")
        step = {"kind": kind, "title": title, "file": file, "key": key}
        return post.back(confirm_document=step, values={"kind": kind, "file": ""})
    placed = {"kind": kind, "file_id": file["id"]}
    path = f"/api/v1/applications/{application_id}/company-documents"
    headers = idempotency(post.form, "company-document")
    await post.call("POST", path, ok=201, auth=True, json=placed, headers=headers, refused=refused({}))
    return back(
        request, here(application_id), done=f"Документ сформирован и размещён: «{title}» ({file['name']})."
    )
