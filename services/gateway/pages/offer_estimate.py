"""The invoice of an offer starts from the estimate (POST /api/v1/fees/estimate): the staff's
offer form is pre-filled with the fee of the application — its type and power, and, when the
application states them (``request``), its voltage, reliability category, distance and
settlement — in the region ``LK_REGION``. Staff may change the amount."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import Request

from services.gateway.pages.calculator import estimate_for
from services.gateway.state import gateway_of

OFFERING = ("in_work", "contract")


def body_for(item: dict[str, Any], region: str) -> dict[str, Any]:
    request = item.get("request") or {}
    body: dict[str, Any] = {
        "type_code": item["type_code"],
        "power_kw": str(item["power_kw"]),
        "region": region,
    }
    for theirs, ours in (
        ("voltage_kv", "voltage_kv"),
        ("reliability_category", "category"),
        ("distance_m", "distance_m"),
        ("settlement", "settlement"),
        ("reduced_rate_category", "reduced_rate_category"),
    ):
        if request.get(theirs) is not None:
            body[ours] = str(request[theirs]) if ours == "voltage_kv" else request[theirs]
    return body


async def offer_estimate(request: Request, item: dict[str, Any]) -> dict[str, Any] | None:
    """The estimate shown at the offer form, or None (not at this stage, or not computable)."""
    if item.get("status") not in OFFERING:
        return None
    region = gateway_of(request).settings.region
    try:
        result, _ = await estimate_for(request, body_for(item, region))
    except httpx.TransportError:
        return None
    return result
