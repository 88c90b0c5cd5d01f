"""An estimate as the API gives it: amounts as strings with two decimals ("53200.00")."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from services.applications.fees.model import Schedule
from services.applications.fees.rules import RULE_TITLES, Estimate, Plan, Query


def money(value: Decimal) -> str:
    return f"{value:.2f}"


def _plan(plan: Plan | None) -> dict[str, Any] | None:
    if plan is None:
        return None
    if not plan.allowed:
        return {"allowed": False, "reason": plan.reason}
    return {
        "allowed": True,
        "rate_percent": f"{plan.rate_percent:.2f}",
        "months": plan.months,
        "advance_rub": money(plan.advance),
        "monthly_rub": money(plan.monthly),
        "interest_rub": money(plan.interest),
        "total_rub": money(plan.total),
    }


def estimate_out(schedule: Schedule, query: Query, result: Estimate, *, asked_year: int) -> dict[str, Any]:
    notes = list(result.notes)
    if schedule.year != asked_year:
        notes.insert(0, f"Ставки на {asked_year} год не заданы: расчёт по ставкам {schedule.year} года.")
    notes += [f"Не проверено: {s.note}" for s in result.sources if not s.verified and s.note]
    alternative = result.alternative
    return {
        "amount_rub": money(result.amount),
        "vat_rub": money(result.vat),
        "vat_percent": f"{schedule.vat.percent:.0f}",
        "breakdown": [
            {"code": x.code, "title": x.title, "amount_rub": money(x.amount), "detail": x.detail}
            for x in result.breakdown
        ],
        "rule": result.rule,
        "rule_title": RULE_TITLES[result.rule],
        "source": "; ".join(s.basis for s in result.sources),
        "sources": [{"basis": s.basis, "verified": s.verified, "note": s.note} for s in result.sources],
        "verified": result.verified,
        "alternative": (
            {
                "rule": alternative[0],
                "rule_title": RULE_TITLES[alternative[0]],
                "amount_rub": money(alternative[1]),
            }
            if alternative
            else None
        ),
        "instalments": _plan(result.instalments),
        "notes": notes,
        "region": schedule.region,
        "region_title": schedule.title,
        "year": schedule.year,
        "request": {
            "type_code": query.type_code,
            "power_kw": str(query.power_kw),
            "voltage_kv": str(query.voltage_kv),
            "category": query.category,
            "distance_m": query.distance_m,
            "settlement": query.settlement,
            "reduced_rate_category": query.reduced_rate_category,
        },
    }
