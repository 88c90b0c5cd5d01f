"""The structured application checked against its type (issue 13): the power within the type's
bounds on both sides, the applicant of a kind the type is for with valid requisites
(shared/requisites.py), a voltage, category, connection kind, payment option and reduced rate
the type allows. Fields left out take the type's one legal value or the obvious default.

:func:`checked_request` refuses every field at fault at once (``errors``: field, code,
Russian message; the top-level code is the first one's) or gives the request as recorded.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from services.applications.type_keys import (
    APPLICANT_KINDS,
    COMPANY,
    INDIVIDUAL,
    KIND_TITLES,
    SOLE_TRADER,
    number,
    only,
)
from shared.errors import FieldErrors
from shared.format import today as local_today
from shared.requisites import (
    inn_valid,
    kpp_valid,
    normalise_phone,
    ogrn_valid,
    passport_number_valid,
    passport_series_valid,
)

Request = dict[str, Any]
BY_KIND = {
    INDIVIDUAL: ("last_name", "first_name", "middle_name", "inn", "passport"),
    SOLE_TRADER: ("last_name", "first_name", "middle_name", "inn", "ogrnip", "passport"),
    COMPANY: ("organisation_name", "inn", "ogrn", "kpp", "last_name", "first_name", "middle_name"),
}
COMMON = ("kind", "postal_address", "phone")


def check_power(kind: dict[str, Any], power: float, errors: FieldErrors) -> None:
    """Both bounds: ``min_power_kw`` exclusive («свыше») unless ``min_power_inclusive``,
    ``max_power_kw`` inclusive unless ``max_power_exclusive`` («менее»)."""
    low, top = kind.get("min_power_kw"), float(kind["max_power_kw"])
    if low is not None:
        inclusive = bool(kind.get("min_power_inclusive"))
        if power < low or (power == low and not inclusive):
            bound = f"не менее {number(low)}" if inclusive else f"свыше {number(low)}"
            errors.add("power_kw", "power_below_minimum", f"Для этого вида заявки мощность — {bound} кВт.")
    exclusive = bool(kind.get("max_power_exclusive"))
    if power > top or (power == top and exclusive):
        bound = f"менее {number(top)}" if exclusive else number(top)
        errors.add(
            "power_kw", "power_exceeds_limit", f"Для этого вида заявки максимальная мощность — {bound} кВт."
        )


def _listed(values: list[Any], unit: str = "") -> str:
    return ", ".join(f"{number(v)}{unit}" if isinstance(v, int | float) else str(v) for v in values)


def checked_request(kind: dict[str, Any], power: float, raw: Request, today: date | None = None) -> Request:
    """The request as recorded, every default filled; or every field at fault refused."""
    errors = FieldErrors()
    check_power(kind, power, errors)
    voltages = [float(v) for v in kind["voltages_kv"]]
    voltage = raw.get("voltage_kv")
    voltage = float(voltage) if voltage is not None else min(voltages)
    if voltage not in voltages:
        errors.add(
            "voltage_kv",
            "voltage_not_allowed",
            f"Для этого вида заявки уровень напряжения: {_listed(voltages, ' кВ')}.",
        )
    categories = list(kind["categories"])
    category = raw.get("reliability_category") or only(categories) or (3 if 3 in categories else None)
    if category not in categories:
        errors.add(
            "reliability_category",
            "category_not_allowed",
            f"Для этого вида заявки категория надёжности: {_listed(categories)}.",
        )
    kinds = list(kind["connection_kinds"])
    connection = raw.get("connection_kind") or only(kinds) or "new"
    if connection not in kinds:
        errors.add(
            "connection_kind",
            "connection_kind_not_allowed",
            "Этот вид присоединения для заявки не предусмотрен.",
        )
    previous = float(raw.get("previous_power_kw") or 0)
    if connection == "increase" and not 0 < previous < power:
        errors.add(
            "previous_power_kw",
            "previous_power_required",
            "При увеличении мощности укажите ранее присоединённую мощность: больше нуля и меньше запрашиваемой.",
        )
    elif connection == "new" and previous > 0:
        errors.add(
            "previous_power_kw",
            "previous_power_not_for_new",
            "При новом присоединении ранее присоединённой мощности нет.",
        )
    elif previous > power:
        errors.add(
            "previous_power_kw",
            "previous_power_too_high",
            "Ранее присоединённая мощность больше запрашиваемой.",
        )
    payment = raw.get("payment_option") or "lump_sum"
    if payment not in kind["payment_options"]:
        errors.add(
            "payment_option",
            "instalments_not_allowed",
            "Для этого вида заявки рассрочка платежа не предусмотрена.",
        )
    reduced = raw.get("reduced_rate_category")
    if reduced and not kind.get("reduced_rate"):
        errors.add(
            "reduced_rate_category",
            "reduced_rate_not_allowed",
            "Льготная ставка для этого вида заявки не применяется.",
        )
    stages = list(raw.get("stages") or [])
    if sum(float(s["power_kw"]) for s in stages) > power:
        errors.add("stages", "stages_exceed_power", "Мощность этапов в сумме больше запрашиваемой.")
    applicant = _applicant(raw.get("applicant"), kind, errors)
    representative = _representative(raw.get("representative"), today or local_today(), errors)
    errors.raise_any()
    return {
        "object_name": str(raw.get("object_name") or "").strip(),
        "cadastral_number": raw.get("cadastral_number"),
        "connection_kind": connection,
        "previous_power_kw": previous,
        "voltage_kv": voltage,
        "reliability_category": category,
        "stages": stages,
        "supplier": str(raw.get("supplier") or "").strip(),
        "payment_option": payment,
        "reduced_rate_category": reduced,
        "distance_m": raw.get("distance_m"),
        "settlement": raw.get("settlement"),
        "mobile": kind.get("code") == "mobile" or bool(raw.get("mobile")),
        "applicant": applicant,
        "representative": representative,
    }


def _applicant(
    raw: dict[str, Any] | None, kind: dict[str, Any], errors: FieldErrors
) -> dict[str, Any] | None:
    if raw is None:
        return None
    who = raw.get("kind", "")
    if who not in APPLICANT_KINDS:
        errors.add(
            "applicant.kind", "applicant_kind_invalid", "Выберите: физическое лицо, ИП или юридическое лицо."
        )
        return None
    if who not in kind["applicant_kinds"]:
        allowed = ", ".join(KIND_TITLES[k] for k in kind["applicant_kinds"])
        errors.add("applicant.kind", "applicant_kind_not_allowed", f"Этот вид заявки подаёт: {allowed}.")
    out: dict[str, Any] = {"kind": who}
    allowed_fields = {*COMMON, *BY_KIND[who]}
    for name, value in raw.items():
        given = (
            any(str(v or "").strip() for v in value.values())
            if isinstance(value, dict)
            else bool(str(value or "").strip())
        )
        if name not in allowed_fields:
            if given:
                errors.add(
                    f"applicant.{name}",
                    "field_not_for_kind",
                    f"Поле не указывается для вида «{KIND_TITLES[who]}».",
                )
        elif name == "passport":
            out[name] = _passport(value, errors) if given else None
        elif name != "kind":
            out[name] = str(value or "").strip()
    _requisites(who, out, errors)
    return out


def _requisites(who: str, out: dict[str, Any], errors: FieldErrors) -> None:
    need = ("organisation_name",) if who == COMPANY else ("last_name", "first_name")
    for name in need:
        if not out.get(name):
            errors.add(f"applicant.{name}", f"{name}_required", "Обязательное поле.")
    inn, length = out.get("inn", ""), 10 if who == COMPANY else 12
    if (inn or who != INDIVIDUAL) and not inn_valid(inn, length):
        errors.add("applicant.inn", "inn_invalid", f"ИНН — {length} цифр с верными контрольными цифрами.")
    if who == INDIVIDUAL and not inn and not out.get("passport"):
        errors.add("applicant.passport", "passport_required", "Укажите паспортные данные или ИНН.")
    registry = {COMPANY: ("ogrn", 13, "ОГРН"), SOLE_TRADER: ("ogrnip", 15, "ОГРНИП")}.get(who)
    if registry:
        name, digits, title = registry
        if not (len(out.get(name, "")) == digits and ogrn_valid(out[name])):
            errors.add(
                f"applicant.{name}",
                f"{name}_invalid",
                f"{title} — {digits} цифр с верной контрольной цифрой.",
            )
    if out.get("kpp") and not kpp_valid(out["kpp"]):
        errors.add(
            "applicant.kpp", "kpp_invalid", "КПП — 9 знаков: 4 цифры, 2 цифры или латинские буквы, 3 цифры."
        )
    if out.get("phone"):
        phone = normalise_phone(out["phone"])
        if phone is None:
            errors.add(
                "applicant.phone", "phone_invalid", "Телефон: российский номер, например +7 912 345-67-89."
            )
        out["phone"] = phone or out["phone"]


def _passport(raw: dict[str, Any], errors: FieldErrors) -> dict[str, str]:
    parts = {p: str(raw.get(p) or "").strip() for p in ("series", "number", "issued_by", "issued_on")}
    parts["series"] = parts["series"].replace(" ", "")
    if not passport_series_valid(parts["series"]):
        errors.add("applicant.passport.series", "passport_series_invalid", "Серия паспорта — 4 цифры.")
    if not passport_number_valid(parts["number"]):
        errors.add("applicant.passport.number", "passport_number_invalid", "Номер паспорта — 6 цифр.")
    if parts["issued_on"]:
        try:
            date.fromisoformat(parts["issued_on"])
        except ValueError:
            errors.add(
                "applicant.passport.issued_on",
                "passport_issued_on_invalid",
                "Дата выдачи паспорта: ГГГГ-ММ-ДД.",
            )
    return parts


def _representative(raw: dict[str, Any] | None, today: date, errors: FieldErrors) -> dict[str, Any] | None:
    if raw is None:
        return None
    issued = date.fromisoformat(raw["power_of_attorney_issued_on"])
    until = raw.get("power_of_attorney_valid_until")
    if issued > today:
        errors.add(
            "representative.power_of_attorney_issued_on",
            "power_of_attorney_not_yet_issued",
            "Дата выдачи доверенности не может быть позже сегодняшнего дня.",
        )
    if until is not None and date.fromisoformat(until) < today:
        errors.add(
            "representative.power_of_attorney_valid_until",
            "power_of_attorney_expired",
            "Срок действия доверенности истёк.",
        )
    return {
        "power_of_attorney_number": str(raw["power_of_attorney_number"]).strip(),
        "power_of_attorney_issued_on": issued.isoformat(),
        "power_of_attorney_valid_until": until,
    }
