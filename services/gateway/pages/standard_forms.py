"""«Типовые формы»: download the standard forms, fill one in online (the document comes back
at once, nothing is stored), and, for staff, publish a new version of a form."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.gateway.pages.calls import SIGNED_IN, UNAVAILABLE, User, Visitor, api
from services.gateway.pages.fields import field_errors
from services.gateway.pages.files import stream_upload, upload_limits
from services.gateway.pages.post import Post
from services.gateway.pages.render import Answered, page

router = APIRouter(include_in_schema=False)

KIND_TITLES = {
    "application": "Типовые формы заявок на ТП",
    "statement": "Заявления и уведомления заявителя",
    "act": "Типовые формы документов по ТП",
    "contract": "Типовые формы договоров об осуществлении ТП",
}
FORM_TYPES = "DOCX, PDF, ODT, XLSX"
FORM_ACCEPT = ".docx,.pdf,.odt,.xlsx"
NO_FORM = "Форма не найдена."
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


async def _groups(request: Request) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """The forms by kind, each with its older versions and its filled-in sample (a sample is
    listed next to its form, not on its own)."""
    answer = await api(request, "GET", "/api/v1/forms")
    answer.raise_for_status()
    listed: list[dict[str, Any]] = answer.json()["items"]
    samples = {i["sample_of"]: i for i in listed if i.get("sample_of")}
    items = [i for i in listed if not i.get("sample_of")]
    for item in items:
        item["sample"] = samples.get(item["code"])
        item["older"] = []
        if item["version"] > 1:
            versions = await api(request, "GET", f"/api/v1/forms/{item['code']}/versions")
            if versions.status_code == 200:
                item["older"] = [v for v in versions.json()["items"] if v["id"] != item["id"]]
    return [(kind, title, [i for i in items if i["kind"] == kind]) for kind, title in KIND_TITLES.items()]


@router.get("/forms")
async def forms_page(request: Request, user: Visitor, published: str = "") -> Response:
    try:
        groups = await _groups(request)
    except (httpx.TransportError, httpx.HTTPStatusError, ValueError, KeyError):
        return page(request, "forms.html", 503, user=user, active="forms", groups=[], error=UNAVAILABLE)
    return page(
        request,
        "forms.html",
        user=user,
        active="forms",
        staff="staff" in (user or {}).get("roles", []),
        done="Новая версия формы опубликована." if published else "",
        form_types=FORM_TYPES,
        form_accept=FORM_ACCEPT,
        groups=groups,
        **upload_limits(request),
    )


@router.post("/upload/form/{code}", dependencies=[SIGNED_IN])
async def publish_form(request: Request, code: str) -> Response:
    """Staff: a new version of a form, without JavaScript (the script posts to the API)."""
    await stream_upload(request, "/forms", f"/api/v1/forms/{code}/versions")
    return RedirectResponse("/forms?published=1", 303)


def _fill_page(request: Request, user: User | None, status: int = 200, **context: Any) -> Response:
    context.setdefault("form", None)
    return page(request, "forms_fill.html", status, user=user, active="forms", inputs=FILL_FIELDS, **context)


async def _form_of(request: Request, user: User | None, form_id: str) -> dict[str, Any]:
    """The form's description; else the page «Форма не найдена» (or «недоступен») answers."""
    try:
        answer = await api(request, "GET", f"/api/v1/forms/{form_id}")
    except httpx.TransportError:
        raise Answered(_fill_page(request, user, 503, error=UNAVAILABLE)) from None
    if answer.status_code != 200:
        raise Answered(_fill_page(request, user, 404, error=NO_FORM))
    form: dict[str, Any] = answer.json()
    return form


@router.get("/forms/{form_id}/fill")
async def fill_page(request: Request, form_id: str, user: Visitor) -> Response:
    form = await _form_of(request, user, form_id)
    if not form["fillable"]:
        return _fill_page(request, user, 404, error=NO_FORM)
    return _fill_page(request, user, form=form, values={"email": user["email"]} if user else {})


@router.post("/forms/{form_id}/fill")
async def fill(request: Request, form_id: str, user: Visitor) -> Response:
    await _form_of(request, user, form_id)
    post = await Post.read(request, f"/forms/{form_id}/fill")  # a failure goes back there
    values = {k: v for k, v in post.form.items() if k not in ("csrf", "format")}
    as_pdf = "?format=pdf" if post.form.get("format") == "pdf" else ""
    post.keep(values=values)
    # Empty fields are left out, so the API names them as missing.
    body: dict[str, Any] = {k: v for k, *_ in FILL_FIELDS if (v := values.get(k, "").strip())}
    for number in ("max_power_kw", "voltage_kv"):
        if number in body:
            body[number] = body[number].replace(",", ".").replace(" ", "")

    def refused(answer: httpx.Response) -> dict[str, Any]:
        summary, fields, _ = field_errors(answer, values)
        if "" in fields:  # a rule on the whole form (passport or ОГРН): the banner says it
            summary = fields.pop("")
        return {"error": summary, "fields": fields}

    path = f"/api/v1/forms/{form_id}/fill{as_pdf}"
    answer = await post.call("POST", path, ok=200, refused=refused, json=body)
    disposition = answer.headers.get("content-disposition", "attachment")
    return Response(
        answer.content,
        media_type=answer.headers.get("content-type"),
        headers={"content-disposition": disposition, "cache-control": "no-store"},
    )
