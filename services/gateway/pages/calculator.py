"""«Калькулятор стоимости ТП»: a guest's estimate of the fee (POST /api/v1/fees/estimate).
The form is sent with GET — a calculation changes nothing, so the result is a page one can
reload, bookmark or share; it needs no JavaScript. The same form sits on each type's page
(``_calculator.html``) and answers here; errors are at their fields."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.gateway.pages.calls import UNAVAILABLE, Visitor, api
from services.gateway.pages.fields import field_errors
from services.gateway.pages.render import page

router = APIRouter(include_in_schema=False)

NAMES = (
    "type_code",
    "power_kw",
    "voltage_kv",
    "category",
    "distance_m",
    "settlement",
    "region",
    "reduced_rate_category",
)
VOLTAGES = ("0.4", "6", "10", "20", "35", "110", "220")
SOCIAL = (
    ("low_income", "малоимущие граждане"),
    ("veteran", "ветераны боевых действий"),
    ("disabled", "инвалиды"),
    ("large_family", "многодетные семьи"),
)
EMPTY = {"power_kw": "Укажите мощность, кВт", "distance_m": "Укажите расстояние до сети, м"}
NUMBER = {
    "power_kw": "Укажите мощность числом, например 15 или 7,5",
    "distance_m": "Укажите расстояние целым числом метров, например 120",
}


def rub_text(amount: str) -> str:
    """«114 000,00 ₽» from the API's "114000.00" (Decimal, never a float)."""
    value = Decimal(amount)
    return f"{value:,.2f}".replace(",", "\u00a0").replace(".", ",") + "\u00a0₽"


def body_of(values: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """(the API's body, messages at the fields the page checks itself)."""
    fields: dict[str, str] = {}
    body: dict[str, Any] = {}
    for name in NAMES:
        raw = values.get(name, "").strip().replace(",", ".").replace(" ", "").replace("\u00a0", "")
        if not raw:
            if name in EMPTY:
                fields[name] = EMPTY[name]
            continue
        if name in ("power_kw", "voltage_kv"):
            try:
                body[name] = str(Decimal(raw))
            except InvalidOperation:
                fields[name] = NUMBER.get(name, "Укажите число")
        elif name in ("distance_m", "category"):
            if not raw.isdigit():
                fields[name] = NUMBER.get(name, "Выберите значение из списка")
            else:
                body[name] = int(raw)
        else:
            body[name] = raw
    return body, fields


def shown(result: dict[str, Any]) -> dict[str, Any]:
    """The API's estimate with its amounts in Russian notation."""
    plan = result.get("instalments") or {}
    alternative = result.get("alternative")
    return {
        **result,
        "amount_text": rub_text(result["amount_rub"]),
        "vat_text": rub_text(result["vat_rub"]),
        "lines": [{**x, "amount_text": rub_text(x["amount_rub"])} for x in result["breakdown"]],
        "alternative_text": rub_text(alternative["amount_rub"]) if alternative else "",
        "plan": {
            **plan,
            **{
                f"{k}_text": rub_text(plan[f"{k}_rub"])
                for k in ("advance", "monthly", "interest", "total")
                if plan.get(f"{k}_rub")
            },
        },
    }


async def estimate_for(
    request: Request, body: dict[str, Any]
) -> tuple[dict[str, Any] | None, httpx.Response]:
    """The estimate (shown) of ``body``, or None with the refusal."""
    answer = await api(request, "POST", "/api/v1/fees/estimate", json=body)
    return (shown(answer.json()) if answer.status_code == 200 else None), answer


async def _choices(request: Request) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str]:
    """(the catalog's types, the regions with fees, the default region)."""
    types = await api(request, "GET", "/api/v1/application-types")
    regions = await api(request, "GET", "/api/v1/fees")
    types.raise_for_status()
    regions.raise_for_status()
    listing = regions.json()
    seen: dict[str, dict[str, Any]] = {}
    for item in listing["items"]:
        seen.setdefault(item["region"], item)
    return types.json()["items"], list(seen.values()), str(listing.get("default_region", ""))


@router.get("/calculator")
async def calculator(request: Request, user: Visitor) -> Response:
    values = {name: request.query_params.get(name, "") for name in NAMES}
    context: dict[str, Any] = {"user": user, "active": "calculator", "voltages": VOLTAGES, "social": SOCIAL}
    try:
        types, regions, default = await _choices(request)
    except (httpx.TransportError, httpx.HTTPStatusError, ValueError, KeyError):
        return page(
            request, "calculator.html", 503, error=UNAVAILABLE, values=values, calc_types=[], **context
        )
    values["region"] = values["region"] or default
    context.update(calc_types=types, calc_regions=regions)
    if "power_kw" not in request.query_params:  # the empty form
        return page(request, "calculator.html", values=values, **context)
    body, fields = body_of(values)
    if fields:
        return page(request, "calculator.html", 422, values=values, fields=fields, **context)
    try:
        result, answer = await estimate_for(request, body)
    except httpx.TransportError:
        return page(request, "calculator.html", 503, error=UNAVAILABLE, values=values, **context)
    if result is None:
        summary, at, _ = field_errors(answer, values)
        return page(
            request, "calculator.html", answer.status_code, values=values, fields=at, error=summary, **context
        )
    return page(request, "calculator.html", values=values, result=result, **context)
