"""Which term of the activities applies to an application: the type's ``activity_terms``
(catalog data by voltage, distance to the grid, power and a mobile object; the first rule whose
conditions all hold), else the type's ``deadlines.activities`` as the fallback.

A condition the application cannot confirm does not hold: a rule with a distance needs the
distance, and without the settlement the smaller (town's) distance is the limit.
"""

from __future__ import annotations

from typing import Any

FALLBACK_BASIS = "Срок вида заявки по умолчанию (данные сетевой организации)"


def holds(rule: dict[str, Any], request: dict[str, Any], power_kw: float) -> bool:
    voltage = request.get("voltage_kv")
    top = rule.get("max_voltage_kv")
    if top is not None and (voltage is None or float(voltage) > float(top)):
        return False
    within = rule.get("max_distance_m")
    if within:
        distance, settlement = request.get("distance_m"), request.get("settlement")
        limit = within[settlement] if settlement in within else min(within.values())
        if distance is None or distance > limit:
            return False
    if "mobile" in rule and bool(rule["mobile"]) != bool(request.get("mobile")):
        return False
    low = rule.get("min_power_kw_exclusive")
    if low is not None and power_kw <= float(low):
        return False
    high = rule.get("max_power_kw")
    return high is None or power_kw <= float(high)


def activity_term(kind: dict[str, Any], request: dict[str, Any], power_kw: float) -> dict[str, Any] | None:
    """The rule that applies, as data (``working_days`` or ``months``, ``basis``, ``verified``,
    ``fallback``), or None when the type has neither rules nor a fallback (a reissue)."""
    for rule in kind.get("activity_terms") or []:
        if holds(rule, request, power_kw):
            return {**rule, "fallback": False}
    fallback = (kind.get("deadlines") or {}).get("activities")
    if not fallback:
        return None
    return {**fallback, "basis": FALLBACK_BASIS, "verified": False, "fallback": True}


def term_text(term: dict[str, Any] | None) -> str:
    """«30 рабочих дней», «6 месяцев» (Russian plural forms)."""
    if not term:
        return ""
    if "working_days" in term:
        return f"{term['working_days']} {_plural(int(term['working_days']), 'рабочий день', 'рабочих дня', 'рабочих дней')}"
    return f"{term['months']} {_plural(int(term['months']), 'месяц', 'месяца', 'месяцев')}"


def _plural(n: int, one: str, few: str, many: str) -> str:
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many
