"""The staff's actions on an application's page, per stage of the process (issue 12, point 7):
«Взять в работу», «Разместить оферту» (the contract and the ТУ uploaded through the files
API, the invoice, the activities term), «Отметить оплату», «Зафиксировать присоединение» and
«Разместить документ сетевой организации». Each is a form posted here (post/redirect/get),
calling the applications API as the staff member; what cannot be undone is confirmed first:
a ticked box, or for a closing document (it completes the application) a second step with the
file already uploaded. The template is ``_process_staff.html``."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData, UploadFile

from services.gateway.pages.calls import SIGNED_IN, User, get_json, idempotency
from services.gateway.pages.offer_estimate import offer_estimate
from services.gateway.pages.post import STALE_FORM, Post, csrf_ok, declared_over
from services.gateway.pages.render import back
from services.gateway.pages.slots import ACCEPT, upload_file
from services.gateway.pages.staff_fields import refused
from services.gateway.pages.staff_forms import FORMS, fields_of
from services.gateway.state import gateway_of

router = APIRouter(include_in_schema=False)

# The company's documents (the applications API's kinds; tests/unit keep the two lists equal).
KINDS: tuple[tuple[str, str], ...] = (
    ("offer_contract", "Договор об осуществлении технологического присоединения (оферта)"),
    ("technical_conditions", "Технические условия"),
    ("invoice", "Счёт на оплату"),
    ("act_tu", "Акт о выполнении технических условий"),
    ("act_meter", "Акт допуска прибора учёта в эксплуатацию"),
    ("closing_notice", "Уведомление об обеспечении сетевой организацией возможности присоединения"),
    ("act_tp", "Акт об осуществлении технологического присоединения"),
)
CLOSING = ("closing_notice", "act_tp")
SIGNATURE_ABOVE_KW = 150.0  # larger offers are signed, not accepted by payment (DOMAIN.md)
MAX_FORM_BYTES = 60 * 1024 * 1024  # two scans at most; the files service limits each
CONFIRM = "Подтвердите действие: отметьте флажок и нажмите кнопку ещё раз."


# The forward moves a recorded fact makes (the actions on this page), so «Изменить статус»
# offers only what needs none: the check's «В работе», documents requested, annulment.
BY_FACT = {
    "in_work": "contract",  # the offer
    "contract": "activities",  # full payment or the signature
    "activities": "tu_check",  # the applicant's notice
    "tu_check": "acts",  # the connection
    "acts": "completed",  # a closing document
}


def plain_moves(item: dict[str, Any], user: User) -> list[str]:
    """The statuses «Изменить статус» offers: the API's allowed moves but those a fact makes."""
    allowed = [str(s) for s in item["allowed_transitions"]]
    if "staff" not in user["roles"]:
        return allowed
    return [s for s in allowed if s != BY_FACT.get(item["status"])]


def local_today(request: Request) -> str:
    """Today in the grid company's zone (the latest date a fact may have)."""
    return datetime.now(ZoneInfo(gateway_of(request).settings.time_zone)).date().isoformat()


async def desk(request: Request, item: dict[str, Any], user: User) -> dict[str, Any]:
    """What ``_process_staff.html`` shows staff (nothing for a consumer): the assignee, the
    kinds of documents, the defaults of the offer."""
    if "staff" not in user["roles"]:
        return {}
    try:
        code, held = await get_json(request, f"/api/v1/applications/{item['id']}/assignment")
    except httpx.TransportError:
        code, held = 503, {}
    return {
        "assignee": held.get("assignee") if code == 200 else None,
        "mine": code == 200 and bool(held.get("mine")),
        "kinds": KINDS,
        "closing": CLOSING,
        "signature_default": float(item["power_kw"]) > SIGNATURE_ABOVE_KW,
        "today": local_today(request),
        "accept": ACCEPT,
        "issue_kinds": [(kind, title) for kind, title in KINDS if kind in FORMS],
        "issue_fields": fields_of(item, KINDS),
        "estimate": await offer_estimate(request, item),  # the invoice starts from it
    }


def rubles(raw: str) -> str | None:
    """«12 500,50» → "12500.50"; None for what is no amount."""
    text = raw.replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    return str(amount) if amount.is_finite() else None


async def _multipart(post: Post) -> FormData:
    """The posted upload form (its size declared first, then its CSRF field checked)."""
    request = post.request
    if declared_over(request, MAX_FORM_BYTES):
        post.fail(error="Слишком большой объём файлов: не более 50 МБ за раз.")
    try:
        form = await request.form(max_files=4, max_fields=30)
    except Exception:  # noqa: BLE001 - a malformed multipart body is the client's error
        post.fail(error="Не удалось прочитать форму. Повторите отправку.")
    if not csrf_ok(request, form.get("csrf")):
        await form.close()
        post.fail(error=STALE_FORM)
    post.form = {k: v for k, v in form.items() if isinstance(v, str)}
    return form


async def _file(post: Post, form: FormData, name: str, fields: dict[str, str]) -> dict[str, str] | None:
    """The file chosen in ``name`` uploaded (its problem at the field), or the one kept from
    a failed post (``keep_<name>``: an id with its name)."""
    chosen = form.get(name)
    if isinstance(chosen, UploadFile) and chosen.filename:
        uploaded, problem = await upload_file(post.request, chosen, idempotency(form, name))
        if uploaded is None:
            fields[name] = problem
        return uploaded
    kept, kept_name = post.form.get(f"keep_{name}", ""), post.form.get(f"keep_{name}_name", "")
    return {"id": kept, "name": kept_name} if kept else None


async def completed(request: Request, application_id: str) -> bool:
    """Whether the application is completed already (another closing document completes nothing)."""
    try:
        code, item = await get_json(request, f"/api/v1/applications/{application_id}")
    except httpx.TransportError:
        return False
    return code == 200 and item.get("status") == "completed"


def here(application_id: str) -> str:
    return f"/applications/{application_id}"


@router.post("/applications/{application_id}/desk/take", dependencies=[SIGNED_IN])
async def take(application_id: str, request: Request) -> Response:
    """«Взять в работу»; a colleague's application only with the box ticked."""
    post = await Post.read(request, here(application_id))
    if post.form.get("held_by_other") == "yes" and post.form.get("confirm") != "yes":
        post.fail(error=CONFIRM, fields={"take_confirm": CONFIRM})
    version = post.form.get("expected_version", "")
    body = {"expected_version": int(version)} if version.isdigit() else {}
    path = f"/api/v1/applications/{application_id}/assignment"
    await post.call("POST", path, ok=200, auth=True, json=body)
    return back(request, here(application_id), done="Заявка взята в работу: вы — исполнитель.")


@router.post("/applications/{application_id}/desk/offer", dependencies=[SIGNED_IN])
async def place_offer(application_id: str, request: Request) -> Response:
    """«Разместить оферту»: the contract and the ТУ uploaded, then the offer placed."""
    post = Post(request, here(application_id) + "#offer")
    form = await _multipart(post)
    fields: dict[str, str] = {}
    try:
        contract = await _file(post, form, "contract", fields)
        conditions = await _file(post, form, "technical_conditions", fields)
    finally:
        await form.close()
    values = post.pick("invoice_amount", "term", "term_unit", "needs_signature", "state_buyer", "contract")
    kept = {k: v for k, v in (("contract", contract), ("technical_conditions", conditions)) if v}
    post.keep(values=values, kept_offer=kept)
    fields |= {n: "Приложите файл." for n in ("contract", "technical_conditions") if n not in kept}
    amount = rubles(values["invoice_amount"])
    if amount is None:
        fields["invoice_amount"] = "Укажите сумму счёта в рублях, например 55 000,00."
    if not values["term"].isdigit() or values["term_unit"] not in ("months", "working_days"):
        fields["term"] = "Укажите срок мероприятий целым числом месяцев или рабочих дней."
    if fields:
        post.fail(error="Проверьте заполнение полей.", fields=fields)
    if post.form.get("confirm") != "yes":
        post.fail(error=CONFIRM, fields={"offer_confirm": CONFIRM})
    body: dict[str, Any] = {
        "contract_file_id": kept["contract"]["id"],
        "technical_conditions_file_id": kept["technical_conditions"]["id"],
        "invoice": {"amount_rub": amount},
        "activities_term": {values["term_unit"]: int(values["term"])},
        "needs_signature": values["needs_signature"] == "yes",
    }
    if values["state_buyer"] == "yes":  # sent only when ticked (the field is new to the API)
        body["state_buyer"] = True
    path = f"/api/v1/applications/{application_id}/offer"
    await post.call("POST", path, ok=200, auth=True, json=body, refused=refused(values))
    return back(
        request, here(application_id), done="Оферта размещена: заявителю направлены договор, ТУ и счёт."
    )


@router.post("/applications/{application_id}/desk/payment", dependencies=[SIGNED_IN])
async def record_payment(application_id: str, request: Request) -> Response:
    """«Отметить оплату»: a payment of the invoice (the full amount concludes the contract)."""
    post = await Post.read(request, here(application_id) + "#payment")
    values = post.pick("amount", "paid_at", "reference")
    post.keep(values=values)
    amount = rubles(values["amount"])
    fields = {} if amount is not None else {"amount": "Укажите сумму платежа в рублях, например 550,00."}
    if not values["paid_at"]:
        fields["paid_at"] = "Укажите дату платежа."
    if not values["reference"].strip():
        fields["reference"] = "Укажите номер платёжного документа."
    if fields:
        post.fail(error="Проверьте заполнение полей.", fields=fields)
    if post.form.get("confirm") != "yes":
        post.fail(error=CONFIRM, fields={"payment_confirm": CONFIRM})
    body = {"amount_rub": amount, "paid_at": values["paid_at"], "reference": values["reference"].strip()}
    path = f"/api/v1/applications/{application_id}/payments"
    await post.call("POST", path, ok=200, auth=True, json=body, refused=refused(values))
    return back(request, here(application_id), done="Оплата отмечена.")


@router.post("/applications/{application_id}/desk/connection", dependencies=[SIGNED_IN])
async def record_connection(application_id: str, request: Request) -> Response:
    """«Зафиксировать присоединение»: the dates of the connection and of the voltage supply."""
    post = await Post.read(request, here(application_id) + "#connection")
    values = post.pick("connected_at", "voltage_applied_at")
    post.keep(values=values)
    fields = {k: "Укажите дату." for k, v in values.items() if not v}
    if fields:
        post.fail(error="Проверьте заполнение полей.", fields=fields)
    if post.form.get("confirm") != "yes":
        post.fail(error=CONFIRM, fields={"connection_confirm": CONFIRM})
    path = f"/api/v1/applications/{application_id}/connection"
    await post.call("POST", path, ok=200, auth=True, json=values, refused=refused(values))
    return back(request, here(application_id), done="Присоединение и подача напряжения зафиксированы.")


@router.post("/applications/{application_id}/desk/document", dependencies=[SIGNED_IN])
async def place_document(application_id: str, request: Request) -> Response:
    """«Разместить документ сетевой организации»; a closing one goes through a confirmation
    step first (the file uploaded and kept), since it completes the application."""
    post = Post(request, here(application_id) + "#company-document")
    form = await _multipart(post)
    fields: dict[str, str] = {}
    try:
        uploaded = await _file(post, form, "file", fields)
    finally:
        await form.close()
    kind = post.form.get("kind", "")
    titles = dict(KINDS)
    if kind not in titles:
        fields["kind"] = "Выберите вид документа."
    if uploaded is None:
        fields.setdefault("file", "Приложите файл документа.")
    values = {"kind": kind, "file": ""}
    if fields:
        post.fail(error="Проверьте заполнение полей.", fields=fields, values=values)
    assert uploaded is not None
    if kind in CLOSING and post.form.get("confirm") != "yes" and not await completed(request, application_id):
        key = post.form.get("idempotency_key", "")
        step = {"kind": kind, "title": titles[kind], "file": uploaded, "key": key}
        return post.back(confirm_document=step, values=values)
    body = {"kind": kind, "file_id": uploaded["id"]}
    path = f"/api/v1/applications/{application_id}/company-documents"
    headers = idempotency(post.form, "company-document")
    await post.call("POST", path, ok=201, auth=True, json=body, headers=headers, refused=refused(values))
    done = "Закрывающий документ размещён: заявка выполнена." if kind in CLOSING else "Документ размещён."
    return back(request, here(application_id), done=f"{done} «{titles[kind]}».")
