"""«Расторгнуть договор» on the application page (issue 12): after the contract is concluded
the applicant sends the statement on its termination — the reason and the details for the
refund of what was paid — after a confirmation; staff accept it (the application is annulled,
the comment gives the settlement of the costs and the refund) or refuse it with the reason.
Form posts answered post/redirect/get; the API's refusals come back at their fields."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.gateway.format import when
from services.gateway.pages.calls import SIGNED_IN, User, refusal_of
from services.gateway.pages.post import Post
from services.gateway.pages.render import back

router = APIRouter(include_in_schema=False)

REQUESTED = "Заявление о расторжении договора отправлено. Сетевая организация сообщит решение по e-mail."
CONFIRM = "Подтвердите действие: отметьте флажок и нажмите кнопку ещё раз."
LIMITS = {"termination_reason": 2000, "refund_details": 1000, "termination_comment": 2000}
AT_FIELD = {  # the API's codes and fields → the form's fields
    "reason_required": "termination_reason",
    "reason": "termination_reason",
    "refund_details_required": "refund_details",
    "refund_details": "refund_details",
    "comment_required": "termination_comment",
    "comment": "termination_comment",
}


def termination_context(item: dict[str, Any], user: User) -> dict[str, Any]:
    """The latest request as the page shows it (both sides), or None."""
    found = item.get("termination") or None
    if not found:
        return {"termination": None}
    return {
        "termination": {
            **found,
            "requested_when": when(found["requested_at"]),
            "decided_when": when(found["decided_at"]) if found.get("decided_at") else "",
            "staff": "staff" in user.get("roles", []),
        }
    }


def _refused(answer: httpx.Response) -> dict[str, Any]:
    summary, api_fields, code = refusal_of(answer)
    fields = {AT_FIELD[k]: summary for k in [code, *api_fields] if k in AT_FIELD}
    return {"error": summary, "fields": fields}


def _here(application_id: str) -> str:
    return f"/applications/{application_id}#termination"


def _checked(post: Post, names: dict[str, str]) -> dict[str, str]:
    values = {name: post.form.get(name, "").strip() for name in names}
    post.keep(values=values)
    fields = {n: message for n, message in names.items() if not values[n]}
    fields |= {n: f"Не более {LIMITS[n]} символов." for n in names if len(values[n]) > LIMITS[n]}
    if fields:
        post.fail(error="Проверьте заполнение полей.", fields=fields)
    return values


@router.post("/applications/{application_id}/termination", dependencies=[SIGNED_IN])
async def request_termination(application_id: str, request: Request) -> Response:
    """The applicant's statement: the reason, the refund's details, confirmed."""
    post = await Post.read(request, _here(application_id))
    values = _checked(
        post,
        {
            "termination_reason": "Укажите причину расторжения договора.",
            "refund_details": "Укажите реквизиты для возврата денежных средств.",
        },
    )
    if post.form.get("confirm") != "yes":
        post.fail(error=CONFIRM, fields={"termination_confirm": CONFIRM})
    body = {"reason": values["termination_reason"], "refund_details": values["refund_details"]}
    path = f"/api/v1/applications/{application_id}/termination"
    await post.call("POST", path, ok=200, auth=True, json=body, refused=_refused)
    return back(request, f"/applications/{application_id}", done=REQUESTED)


@router.post("/applications/{application_id}/desk/termination", dependencies=[SIGNED_IN])
async def decide_termination(application_id: str, request: Request) -> Response:
    """Staff: «Расторгнуть договор» (confirmed: the application is annulled) or «Отказать»."""
    post = await Post.read(request, _here(application_id))
    decision = post.form.get("decision", "")
    message = (
        "Укажите расчёт фактических расходов и сумму возврата."
        if decision == "accept"
        else "Укажите причину отказа."
    )
    values = _checked(post, {"termination_comment": message})
    if decision not in ("accept", "refuse"):
        post.fail(error="Выберите решение.")
    if decision == "accept" and post.form.get("confirm") != "yes":
        post.fail(error=CONFIRM, fields={"termination_confirm": CONFIRM})
    body = {"decision": decision, "comment": values["termination_comment"]}
    path = f"/api/v1/applications/{application_id}/termination/decision"
    await post.call("POST", path, ok=200, auth=True, json=body, refused=_refused)
    done = (
        "Договор расторгнут, заявка аннулирована. Заявитель получит письмо."
        if decision == "accept"
        else "В расторжении договора отказано. Заявитель получит письмо с причиной."
    )
    return back(request, f"/applications/{application_id}", done=done)
