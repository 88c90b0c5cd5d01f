"""The applicant's side of the grid-connection process on the application page (issue 12):
what the page shows of the process (:func:`process_context`: the deadlines, the company's
documents, the invoice, the offer to sign, the milestones) and the applicant's actions —
«Получить код» and «Подписать» (a simple electronic signature by a one-time e-mail code),
«Отказаться от договора» with a reason after a confirmation, and «Уведомить о выполнении ТУ»
with files (uploaded to the files service first, then the notice). Every action is a form post
answered post/redirect/get (:mod:`.post`); the API's refusals come back at their fields."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData, UploadFile

from services.gateway.format import day, number, when
from services.gateway.pages.calls import SIGNED_IN, UNAVAILABLE, User, api, idempotency, refusal_of
from services.gateway.pages.post import STALE_FORM, Post, csrf_ok, declared_over
from services.gateway.pages.render import back
from services.gateway.pages.slots import ACCEPT, not_accepted, upload_file

router = APIRouter(include_in_schema=False)

MAX_NOTICE_BYTES = 220 * 1024 * 1024  # the same as the other page uploads (routes.PAGE_UPLOAD_MAX)
NOTICE_FILES = "notice_files"
SIGNED = "Договор подписан простой электронной подписью. Договор заключён."
REFUSED = "Вы отказались от договора. Сетевая организация получила причину отказа."
NOTICE_SENT = "Уведомление о выполнении ТУ отправлено. Сетевая организация проверит выполнение ТУ."
REASON_REQUIRED = "Укажите причину отказа от договора."
CODE_REQUIRED = "Введите код из письма."
CHOOSE_FILES = "Приложите документы, подтверждающие выполнение ТУ (хотя бы один файл)."
SIGNATURE_CODES = (
    "signature_code_required",
    "signature_code_wrong",
    "signature_code_used",
    "signature_code_expired",
    "signature_code_missing",
)
FILE_CODES = ("file_not_found", "validation_error")


def rubles(value: float | int | None) -> str:
    """«1 250 000,75 ₽»."""
    return f"{number(value or 0, 2)}\u00a0₽"


def plural(n: int, one: str, few: str, many: str) -> str:
    n = abs(n)
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


def moment_text(value: str | None) -> str:
    """A fact's date: a moment in the company's zone, a calendar date as it is."""
    if not value:
        return ""
    return when(value) if len(value.strip()) > 10 else day(value)


def deadline_line(deadline: dict[str, Any]) -> dict[str, Any]:
    """«Сетевая организация обязана до 05.03.2026: …» / «Вам нужно до …», and what is left."""
    who = "Сетевая организация обязана" if deadline.get("duty") == "grid_company" else "Вам нужно"
    left = int(deadline.get("working_days_left") or 0)
    if deadline.get("overdue"):
        rest = "просрочено"
    else:
        rest = "осталось " + f"{left} " + plural(left, "рабочий день", "рабочих дня", "рабочих дней")
    return {
        **deadline,
        "text": f"{who} до {day(deadline.get('due'))}: {deadline.get('title', '')}",
        "left_text": rest,
        "mine": deadline.get("duty") == "applicant",
    }


def _document(doc: dict[str, Any]) -> dict[str, Any]:
    signed = doc.get("signature") or (
        f"Подписано ПЭП {when(doc['signed_at'])}" if doc.get("signed_at") else ""
    )
    return {**doc, "placed_text": moment_text(doc.get("placed_at")), "signed_text": signed}


def _invoice(invoice: dict[str, Any] | None, offer: dict[str, Any] | None) -> dict[str, Any] | None:
    if not invoice:
        return None
    amount, paid = float(invoice.get("amount_rub") or 0), float(invoice.get("paid_rub") or 0)
    payments = [
        {**p, "amount_text": rubles(p.get("amount_rub")), "date_text": day(p.get("paid_at"))}
        for p in invoice.get("payments") or []
    ]
    return {
        **invoice,
        "amount_text": rubles(amount),
        "paid_text": rubles(paid),
        "rest_text": rubles(max(amount - paid, 0)),
        "due_text": day(invoice.get("due")),
        "paid_at_text": day(invoice.get("paid_at")),
        "payments": payments,
        "paid": amount > 0 and paid >= amount,
        "partly": 0 < paid < amount,
        "concluded": bool(offer and offer.get("concluded_on")),
        "refused": bool(offer and offer.get("refusal")),
    }


def process_context(item: dict[str, Any], user: User) -> dict[str, Any]:
    """What ``_process_applicant.html`` shows of the process (the applicant's side): absent
    parts of the API's answer (deadlines, signatures, the invoice before the offer) are
    simply not shown."""
    if "staff" in user.get("roles", []):
        return {}
    offer = item.get("offer") or None
    status = item.get("status", "")
    concluded = bool(offer and offer.get("concluded_on"))
    refusal = (offer or {}).get("refusal") or None
    return {
        "process": {
            "deadlines": [deadline_line(d) for d in item.get("deadlines") or []],
            "documents": [_document(d) for d in item.get("company_documents") or []],
            "invoice": _invoice(item.get("invoice"), offer),
            "milestones": [{**m, "when": moment_text(m.get("at"))} for m in item.get("milestones") or []],
            "concluded": concluded,
            "terminable": concluded and status not in ("completed", "annulled"),
            "concluded_text": day((offer or {}).get("concluded_on")),
            "refusal": {**refusal, "when": moment_text(refusal.get("at"))} if refusal else None,
            "to_sign": status == "contract"
            and bool(offer and offer.get("needs_signature"))
            and not concluded
            and not refusal,
            "to_notify": status == "activities",
            "accept": ACCEPT,
        }
    }


def _here(application_id: str) -> str:
    return f"/applications/{application_id}"


def _acceptance(application_id: str) -> str:
    return f"/api/v1/applications/{application_id}/acceptance"


def _signature_refused(answer: httpx.Response) -> dict[str, Any]:
    summary, _, code = refusal_of(answer)
    shown: dict[str, Any] = {"error": summary}
    if code in SIGNATURE_CODES:
        shown |= {"fields": {"code": summary}, "code_sent": code != "signature_code_missing"}
    return shown


@router.post("/applications/{application_id}/acceptance/code", dependencies=[SIGNED_IN])
async def send_code(application_id: str, request: Request) -> Response:
    """«Получить код»: the one-time code of the signature goes to the applicant's e-mail."""
    post = await Post.read(request, _here(application_id))
    try:
        answer = await api(request, "POST", _acceptance(application_id) + "/code", auth=True)
    except httpx.TransportError:
        post.fail(error=UNAVAILABLE)
    post.check(answer, ok=answer.status_code if answer.status_code in (200, 201) else 201)
    sent: dict[str, Any] = answer.json() if answer.content else {}
    where = f" на {sent['sent_to']}" if sent.get("sent_to") else " на ваш e-mail"
    until = f" Код действует до {when(sent['expires_at'])}." if sent.get("expires_at") else ""
    done = f"Код отправлен{where}.{until} Введите его ниже и нажмите «Подписать»."
    return back(request, post.again, done=done, code_sent=True)


@router.post("/applications/{application_id}/acceptance", dependencies=[SIGNED_IN])
async def sign(application_id: str, request: Request) -> Response:
    """«Подписать»: the code from the e-mail signs the offer; the contract is concluded."""
    post = await Post.read(request, _here(application_id))
    code = post.form.get("code", "").strip()
    if not code:
        post.fail(error=CODE_REQUIRED, fields={"code": CODE_REQUIRED}, code_sent=True)
    body = {"decision": "accept", "code": code}
    await post.call(
        "POST", _acceptance(application_id), ok=200, auth=True, json=body, refused=_signature_refused
    )
    return back(request, post.again, done=SIGNED)


@router.post("/applications/{application_id}/refusal", dependencies=[SIGNED_IN])
async def refuse(application_id: str, request: Request) -> Response:
    """«Отказаться от договора»: a reason is required, and a confirmation (it cannot be undone)."""
    post = await Post.read(request, _here(application_id))
    comment = post.form.get("refusal_comment", "").strip()
    post.keep(values={"refusal_comment": comment})
    if not comment:
        post.fail(error=REASON_REQUIRED, fields={"refusal_comment": REASON_REQUIRED})
    if post.form.get("confirm") != "yes":
        return post.back(confirm_refusal={"comment": comment})

    def refused(answer: httpx.Response) -> dict[str, Any]:
        summary, _, code = refusal_of(answer)
        return {"error": summary, "fields": {"refusal_comment": summary} if code == "reason_required" else {}}

    body = {"decision": "reject", "comment": comment}
    await post.call("POST", _acceptance(application_id), ok=200, auth=True, json=body, refused=refused)
    return back(request, post.again, done=REFUSED)


async def _names(request: Request, file_ids: list[str]) -> dict[str, str]:
    """The names of the files kept from a refused post (the caller's own; others dropped)."""
    names: dict[str, str] = {}
    for file_id in dict.fromkeys(file_ids):
        try:
            answer = await api(request, "GET", f"/api/v1/files/{file_id}/meta", auth=True)
        except httpx.TransportError:
            continue
        if answer.status_code == 200:
            names[file_id] = str(answer.json()["name"])
    return names


async def _notice_files(post: Post, form: FormData) -> list[dict[str, str]]:
    """Upload the chosen files (each once per form, by its Idempotency-Key), else keep those
    of the refused post before; every failure from here on lists the files kept."""
    chosen = [i for i in form.getlist(NOTICE_FILES) if isinstance(i, UploadFile) and i.filename]
    files: list[dict[str, str]] = []
    problems: list[str] = []
    for n, upload in enumerate(chosen):
        uploaded, problem = await upload_file(post.request, upload, idempotency(form, "notice", n))
        if uploaded:
            files.append({"file_id": uploaded["id"], "name": uploaded["name"]})
        else:
            problems.append(problem)
    if not chosen:
        kept = [str(v) for v in form.getlist("keep_notice") if isinstance(v, str) and v]
        names = await _names(post.request, kept)
        files = [{"file_id": i, "name": names[i]} for i in kept if i in names]
    post.keep(notice_kept=files)
    if problems:
        text = not_accepted(problems)
        post.fail(error=text, fields={NOTICE_FILES: text})
    if not files:
        post.fail(error=CHOOSE_FILES, fields={NOTICE_FILES: CHOOSE_FILES})
    return files


@router.post("/applications/{application_id}/tu-notice", dependencies=[SIGNED_IN])
async def tu_notice(application_id: str, request: Request) -> Response:
    """«Уведомить о выполнении ТУ»: the files first (the files API), then the notice."""
    post = Post(request, _here(application_id))
    if declared_over(request, MAX_NOTICE_BYTES):
        post.fail(error="Слишком большой объём файлов: не более 200 МБ за раз.")
    try:
        form = await request.form(max_files=31, max_fields=40)
    except Exception:  # noqa: BLE001 - a malformed multipart body is the client's error
        post.fail(error="Не удалось прочитать форму. Повторите отправку.")
    try:
        if not csrf_ok(request, form.get("csrf")):
            post.fail(error=STALE_FORM)
        files = await _notice_files(post, form)
    finally:
        await form.close()

    def refused(answer: httpx.Response) -> dict[str, Any]:
        summary, _, code = refusal_of(answer)
        return {"error": summary, "fields": {NOTICE_FILES: summary} if code in FILE_CODES else {}}

    body = {"kind": "tu_fulfilled", "file_ids": [f["file_id"] for f in files]}
    path = f"/api/v1/applications/{application_id}/notices"
    await post.call("POST", path, ok=200, auth=True, json=body, refused=refused)
    return back(request, post.again, done=NOTICE_SENT)
