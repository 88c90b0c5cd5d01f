"""«Подача заявки на ТП»: the catalog, a type's page, its structured form (pre-filled from
the profile, :mod:`.apply_form`) and sending it (the scans uploaded first, then the
application), and the documents staff asked for. A refused form comes back
(post/redirect/get) with the messages at the fields (:mod:`.apply_fields`), a summary that
takes the focus, and the files already uploaded kept (:mod:`.slots`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.gateway.pages import apply_fields, apply_form, slots
from services.gateway.pages.calls import UNAVAILABLE, SignedIn, User, Visitor, api, get_json, idempotency
from services.gateway.pages.catalog_words import described
from services.gateway.pages.post import STALE_FORM, Post, csrf_ok, declared_over
from services.gateway.pages.render import Answered, back, not_found, page

router = APIRouter(include_in_schema=False)

MAX_FORM_BYTES = 220 * 1024 * 1024  # a form may carry several scans; files has its own per-file limit
DOCUMENTS_SENT = (
    "Документы отправлены. Заявка снова в работе: срок этапа считается с сегодняшнего дня, "
    "сотрудник сетевой организации получил уведомление."
)


async def kind_of(request: Request, user: User | None, code: str) -> dict[str, Any]:
    """The application type ``code``; an unknown one answers the page «не найдено»."""
    status, kind = await get_json(request, f"/api/v1/application-types/{code}", auth=False)
    if status != 200:
        raise Answered(not_found(request, user, kind))
    found: dict[str, Any] = described(kind)
    return found


@router.get("/apply")
async def catalog(request: Request, user: Visitor) -> Response:
    try:
        _, body = await get_json(request, "/api/v1/application-types", auth=False)
    except httpx.TransportError:
        return page(request, "apply_list.html", 503, user=user, active="apply", types=[], error=UNAVAILABLE)
    types = [described(kind) for kind in body["items"]]
    return page(request, "apply_list.html", user=user, active="apply", types=types)


@router.get("/apply/{code}")
async def type_page(code: str, request: Request, user: Visitor) -> Response:
    kind = await kind_of(request, user, code)
    shown = slots.slots_of(kind, filing=True)[:-1]  # the checklist, without the archive
    return page(request, "apply_type.html", user=user, active="apply", kind=kind, slots=shown)


def form_context(kind: dict[str, Any], user: User) -> dict[str, Any]:
    """What the structured form shows for ``kind`` besides the values."""
    shown = slots.slots_of(kind, filing=True)
    kinds = apply_form.kinds_of(kind)
    return {
        "slots": shown,
        "accept": slots.ACCEPT,
        "asked": apply_form.choices(kind),
        "fixed": apply_form.fixed(kind),
        "previous_asked": apply_form.asks_previous(kind),
        "reduced_rates": list(apply_form.REDUCED_RATE.items()),
        "settlements": list(apply_form.SETTLEMENTS.items()),
        "mismatch": apply_form.profile_mismatch(user, kind),
        "kind_ids": {k: f"kind-{k}" for k in kinds},
        "anchors": {"applicant_kind": f"kind-{kinds[0]}" if kinds else "applicant_kind"},
        "labels": {**apply_fields.LABELS, **{slots.input_of(s["code"]): s["title"] for s in shown}},
        "first_invalid": "-",  # the error summary takes the focus, not a field
    }


@router.get("/apply/{code}/new")
async def new_application(code: str, request: Request, user: SignedIn) -> Response:
    kind = await kind_of(request, user, code)
    return page(
        request,
        "apply_form.html",
        user=user,
        active="apply",
        kind=kind,
        values=apply_form.initial_values(user, kind),
        **form_context(kind, user),
    )


async def attach(post: Post, kind: dict[str, Any]) -> slots.Attached:
    """Read the posted form (its size says first, then the CSRF field) and upload its files
    per slot; every failure from here on shows the files kept."""
    request = post.request
    if declared_over(request, MAX_FORM_BYTES):
        post.fail(error="Слишком большой объём файлов: не более 200 МБ за раз.")
    try:
        form = await request.form(max_files=40, max_fields=160)
    except Exception:  # noqa: BLE001 - a malformed multipart body is the client's error
        post.fail(error="Не удалось прочитать форму. Повторите отправку.")
    if not csrf_ok(request, form.get("csrf")):
        await form.close()
        post.fail(error=STALE_FORM)
    post.form = {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        attached = await slots.collect(request, form, kind)
    finally:
        await form.close()
    post.keep(kept=attached.documents)
    return attached


@router.post("/apply/{code}/new")
async def send_application(code: str, request: Request, user: SignedIn) -> Response:
    """«Отправить заявку на ТП»: upload the attached scans, then submit the structured data."""
    kind = await kind_of(request, user, code)
    post = Post(request, f"/apply/{code}/new")
    attached = await attach(post, kind)
    values = post.pick(*apply_form.FIELDS)
    post.keep(values=values)
    if attached.problems:
        post.fail(error=slots.not_accepted(attached.problems.values()), fields=attached.problems)
    body = apply_form.submission(kind, values, attached.documents, user)
    headers = idempotency(post.form, "application")
    answer = await api(request, "POST", "/api/v1/applications", auth=True, json=body, headers=headers)
    conditions = apply_form.conditions(values, kind)
    post.check(answer, ok=201, refused=apply_fields.refused(kind, attached.documents, conditions))
    return RedirectResponse("/applications?" + urlencode({"submitted": answer.json()["number"]}), 303)


@router.post("/apply/documents/{application_id}")
async def add_documents(application_id: str, request: Request, user: SignedIn) -> Response:
    """The documents staff asked for, per checklist slot or as one ZIP archive."""
    here = f"/applications/{application_id}"
    status, item = await get_json(request, f"/api/v1/applications/{application_id}")
    if status != 200:
        return not_found(request, user, item)
    _, kind = await get_json(request, f"/api/v1/application-types/{item['type_code']}", auth=False)
    post = Post(request, here)
    attached = await attach(post, kind)
    if attached.problems:
        post.fail(error=slots.not_accepted(attached.problems.values()), fields=attached.problems)
    if not attached.documents:
        post.fail(error="Выберите файлы для отправки.", fields={"documents": "Выберите хотя бы один файл."})
    documents = [{"slot": d["slot"], "file_id": d["file_id"]} for d in attached.documents]
    path = f"/api/v1/applications/{application_id}/documents"
    answer = await api(request, "POST", path, auth=True, json={"documents": documents})
    post.check(answer, ok=200, refused=slots.refused(kind, attached.documents))
    return back(request, here, done=DOCUMENTS_SENT)
