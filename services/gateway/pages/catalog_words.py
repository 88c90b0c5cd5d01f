"""The catalog in words for the pages: who a type is for, its power bounds («свыше 150 кВт и
менее 670 кВт»), the voltages and reliability categories it allows and the terms of the
activities by voltage and distance — all read from the type's data
(``GET /api/v1/application-types``), never written per type in a template."""

from __future__ import annotations

from typing import Any

from shared.format import NBSP, number

KIND_WORDS = {"individual": "Физическое лицо", "sole_trader": "ИП", "company": "Юридическое лицо"}
ROMAN = {1: "I", 2: "II", 3: "III"}
NO_UPPER_KW = 100_000  # a bound this high is «no upper bound» in the catalog's data
CONNECTION_KINDS = {
    "new": "Новое присоединение",
    "increase": "Увеличение максимальной мощности",
    "scheme_change": "Изменение схемы внешнего электроснабжения или категории надёжности",
}
PAYMENT_OPTIONS = {"lump_sum": "Единовременно", "instalments": "В рассрочку"}


def _kw(value: float | int) -> str:
    return f"{number(value)}{NBSP}кВт"


def kinds_text(kind: dict[str, Any]) -> str:
    """«Физическое лицо, ИП» — the applicant kinds the type is for ("" when the data says none)."""
    return ", ".join(KIND_WORDS[k] for k in kind.get("applicant_kinds") or [] if k in KIND_WORDS)


def power_text(kind: dict[str, Any]) -> str:
    """The type's power bounds as the Rules say them."""
    low, high = kind.get("min_power_kw"), kind.get("max_power_kw")
    if high is not None and float(high) >= NO_UPPER_KW:
        high = None
    lower = ""
    if low is not None:
        lower = f"{_kw(low)} и более" if kind.get("min_power_inclusive") else f"свыше {_kw(low)}"
    upper = ""
    if high is not None:
        upper = f"менее {_kw(high)}" if kind.get("max_power_exclusive") else f"до {_kw(high)} включительно"
    if lower and upper:
        if kind.get("min_power_inclusive"):
            return f"от {_kw(low or 0)} и {upper}"
        return f"{lower} и {upper}"
    return lower or upper or "без ограничения мощности"


def voltage_text(value: float | int | str) -> str:
    return f"{number(value)}{NBSP}кВ"


def voltages_text(kind: dict[str, Any]) -> str:
    """«0,4 кВ, 6 кВ, 10 кВ» ("" when the data says none)."""
    return ", ".join(voltage_text(v) for v in kind.get("voltages_kv") or [])


def categories_text(kind: dict[str, Any]) -> str:
    """«II или III» — the reliability categories allowed."""
    names = [ROMAN[int(c)] for c in kind.get("categories") or [] if int(c) in ROMAN]
    if len(names) < 2:
        return "".join(names)
    return ", ".join(names[:-1]) + " или " + names[-1]


def _plural(n: int, one: str, few: str, many: str) -> str:
    if n % 10 == 1 and n % 100 != 11:
        return one
    return few if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14 else many


def term_text(rule: dict[str, Any]) -> str:
    """«30 рабочих дней», «6 месяцев», «1 год», «2 года»."""
    if rule.get("working_days") is not None:
        days = int(rule["working_days"])
        return f"{days} {_plural(days, 'рабочий день', 'рабочих дня', 'рабочих дней')}"
    months = int(rule.get("months") or 0)
    if months and months % 12 == 0:
        years = months // 12
        return f"{years} {_plural(years, 'год', 'года', 'лет')}"
    return f"{months} {_plural(months, 'месяц', 'месяца', 'месяцев')}"


def _distance(limits: dict[str, Any]) -> str:
    urban, rural = limits.get("urban"), limits.get("rural")
    if urban == rural or rural is None:
        return f"расстояние до сетей не более {number(urban)}{NBSP}м"
    return (
        f"расстояние до сетей не более {number(urban)}{NBSP}м в городе "
        f"и {number(rural)}{NBSP}м в сельской местности"
    )


def conditions_text(rule: dict[str, Any]) -> str:
    """When the rule applies: «передвижные объекты, мощность до 150 кВт включительно, …»."""
    parts = []
    if rule.get("mobile"):
        parts.append("передвижные объекты")
    if rule.get("min_power_kw_exclusive") is not None:
        parts.append(f"мощность свыше {_kw(rule['min_power_kw_exclusive'])}")
    if rule.get("max_power_kw") is not None:
        parts.append(f"мощность до {_kw(rule['max_power_kw'])} включительно")
    if rule.get("max_voltage_kv") is not None:
        parts.append(f"напряжение до {voltage_text(rule['max_voltage_kv'])}")
    if rule.get("max_distance_m"):
        parts.append(_distance(rule["max_distance_m"]))
    return ", ".join(parts)


def activity_terms(kind: dict[str, Any]) -> list[dict[str, Any]]:
    """The terms of the activities, in the data's order (the first that matches applies):
    each {term, conditions, basis, verified}; a rule without conditions reads «в остальных
    случаях» after others."""
    rows = []
    for number_, rule in enumerate(kind.get("activity_terms") or []):
        conditions = conditions_text(rule) or ("в остальных случаях" if number_ else "")
        rows.append(
            {
                "term": term_text(rule),
                "conditions": conditions,
                "basis": str(rule.get("basis") or ""),
                "verified": bool(rule.get("verified", True)),
            }
        )
    return rows


def described(kind: dict[str, Any]) -> dict[str, Any]:
    """The type with its words for the templates (``words``)."""
    return {
        **kind,
        "words": {
            "kinds": kinds_text(kind),
            "power": power_text(kind),
            "voltages": voltages_text(kind),
            "categories": categories_text(kind),
            "terms": activity_terms(kind),
        },
    }
