"""The structured online application (п. 9, 12(1), 14 of the Rules): what the form asks for a
type, what it shows pre-filled from the profile (``GET /api/v1/me``), and the body of
``POST /api/v1/applications`` made from what was typed.

A field with one legal value for the type (its only voltage, category, connection kind, the
lump sum where no instalments are allowed) is not asked: the API takes its default, so the
body leaves it out. Numbers are read the Russian way («12,5»); one that is not a number is
sent as typed, so the API refuses it at its field.
"""

from __future__ import annotations

from typing import Any

from services.gateway.pages.account import KINDS, profile_values
from services.gateway.pages.catalog_words import CONNECTION_KINDS, PAYMENT_OPTIONS, ROMAN, voltage_text

ALL_KINDS = ("individual", "sole_trader", "company")
STAGE_ROWS = 3
PASSPORT = ("series", "number", "issued_by", "issued_on")
APPLICANT_COMMON = ("last_name", "first_name", "middle_name", "postal_address", "phone", "inn")
APPLICANT_BY_KIND = {
    "individual": ("passport_series", "passport_number", "passport_issued_by", "passport_issued_on"),
    "sole_trader": ("ogrnip",),
    "company": ("organisation_name", "ogrn", "kpp"),
}
# The applicant's requisites: given (or names other than the profile's), the applicant is sent.
REQUISITES = ("middle_name", "postal_address", "inn", *(f for k in APPLICANT_BY_KIND.values() for f in k))
REDUCED_RATE = {
    "low_income": "Малоимущие граждане (среднедушевой доход ниже прожиточного минимума)",
    "veteran": "Участники и ветераны Великой Отечественной войны, ветераны боевых действий",
    "disabled": "Инвалиды и семьи, имеющие детей-инвалидов",
    "large_family": "Многодетные семьи",
}
DEFAULTS = {"connection_kind": "new", "payment_option": "lump_sum"}  # the API's, left out
SETTLEMENTS = {"urban": "В городе (посёлке городского типа)", "rural": "В сельской местности"}
STAGES = tuple(f"stage_{part}_{n}" for n in range(1, STAGE_ROWS + 1) for part in ("title", "power", "date"))
FIELDS = (
    "object_name",
    "object_address",
    "cadastral_number",
    "connection_kind",
    "power_kw",
    "previous_power_kw",
    "voltage_kv",
    "reliability_category",
    *STAGES,
    "supplier",
    "payment_option",
    "reduced_rate_category",
    "distance_m",
    "settlement",
    "applicant_kind",
    *APPLICANT_COMMON,
    *(f for k in APPLICANT_BY_KIND.values() for f in k),
    "email",
    "comment",
    "representative",
    "poa_number",
    "poa_issued_on",
    "poa_valid_until",
)
"""Every field of the form, as the page posts them."""


def kinds_of(kind: dict[str, Any]) -> list[str]:
    return [k for k in kind.get("applicant_kinds") or ALL_KINDS if k in KINDS]


def choices(kind: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """The options of each choice the type leaves open (a choice of one is not asked)."""
    options = {
        "applicant_kind": [(k, KINDS[k]) for k in kinds_of(kind)],
        "connection_kind": [
            (c, CONNECTION_KINDS[c]) for c in kind.get("connection_kinds") or ["new"] if c in CONNECTION_KINDS
        ],
        "voltage_kv": [(_plain(v), voltage_text(v)) for v in kind.get("voltages_kv") or []],
        "reliability_category": [
            (str(c), f"{ROMAN[int(c)]} категория") for c in kind.get("categories") or []
        ],
        "payment_option": [
            (p, PAYMENT_OPTIONS[p])
            for p in kind.get("payment_options") or ["lump_sum"]
            if p in PAYMENT_OPTIONS
        ],
    }
    return {name: found for name, found in options.items() if len(found) > 1}


def asks_previous(kind: dict[str, Any]) -> bool:
    """The previously connected power is asked where more than a new connection is possible."""
    return any(c != "new" for c in kind.get("connection_kinds") or ["new"])


def _plain(value: float | int | str) -> str:
    """A number as the form posts it: «0.4», «10»."""
    figure = float(value)
    return str(int(figure)) if figure.is_integer() else str(figure)


def fixed(kind: dict[str, Any]) -> dict[str, str]:
    """The choices with a single value for the type, in words (shown, not asked)."""
    words = {
        "applicant_kind": [KINDS[k] for k in kinds_of(kind)],
        "voltage_kv": [voltage_text(v) for v in kind.get("voltages_kv") or []],
        "reliability_category": [f"{ROMAN[int(c)]} категория" for c in kind.get("categories") or []],
    }
    return {name: found[0] for name, found in words.items() if len(found) == 1}


def initial_values(user: dict[str, Any], kind: dict[str, Any]) -> dict[str, str]:
    """The form as first shown: the applicant from the profile, the type's defaults."""
    values = {k: v for k, v in profile_values(user).items() if v}
    values["email"] = str(user.get("email") or "")
    allowed = kinds_of(kind)
    if len(allowed) == 1:
        values["applicant_kind"] = allowed[0]
    elif values.get("applicant_kind") not in allowed:
        values.pop("applicant_kind", None)
    values.update(DEFAULTS)
    voltages = kind.get("voltages_kv") or []
    if len(voltages) > 1:  # what the API takes when none is chosen: shown, not implied
        values["voltage_kv"] = _plain(min(float(v) for v in voltages))
    categories = [str(c) for c in kind.get("categories") or []]
    if "3" in categories and len(categories) > 1:
        values["reliability_category"] = "3"
    return values


def profile_mismatch(user: dict[str, Any], kind: dict[str, Any]) -> str:
    """A word when the profile's applicant kind is not one the type is for."""
    mine = str(user.get("applicant_kind") or "")
    if mine and mine not in kinds_of(kind):
        return (
            f"В профиле указан вид заявителя «{KINDS[mine]}», а эта заявка — для: "
            + ", ".join(KINDS[k].lower() for k in kinds_of(kind))
            + ". Выберите другой вид заявки или укажите данные заявителя."
        )
    return ""


def number_of(text: str) -> float | str | None:
    """«12,5» → 12.5; "" → None; anything else as typed (the API refuses it at its field)."""
    cleaned = text.replace(",", ".").replace(" ", "").replace("\u00a0", "")
    if not cleaned:
        return None
    try:
        return float(cleaned)
    except ValueError:
        return text


def whole_of(text: str) -> int | str | None:
    cleaned = text.replace(" ", "").replace("\u00a0", "")
    if not cleaned:
        return None
    return int(cleaned) if cleaned.isdigit() else text


def representing(values: dict[str, str]) -> bool:
    return values.get("representative") == "yes"


def conditions(values: dict[str, str], kind: dict[str, Any]) -> dict[str, Any]:
    """What makes a conditional document slot required (services/gateway/pages/slots.py):
    the voltage chosen (else the type's lowest, the API's default)."""
    voltage = number_of(values.get("voltage_kv", ""))
    voltages = [float(v) for v in kind.get("voltages_kv") or []]
    return {
        "representative": representing(values),
        "reduced_rate": bool(values.get("reduced_rate_category")),
        "voltage_kv": voltage if isinstance(voltage, float) else min(voltages, default=None),
    }


def applicant_of(values: dict[str, str], user: dict[str, Any]) -> dict[str, Any] | None:
    """The applicant as typed, only the fields of its kind; None when the form says nothing
    beyond the profile's name (the API then takes the account's name)."""
    kind = values.get("applicant_kind", "")
    names_changed = any(
        values.get(n, "").strip() != str(user.get(n) or "").strip() for n in ("first_name", "last_name")
    )
    fields = (*APPLICANT_COMMON, *APPLICANT_BY_KIND.get(kind, ()))
    if not names_changed and not any(values.get(n, "").strip() for n in REQUISITES if n in fields):
        return None
    applicant: dict[str, Any] = {"kind": kind} if kind else {}
    passport = {part: values.get(f"passport_{part}", "").strip() for part in PASSPORT}
    for name in fields:
        if not name.startswith("passport_"):
            applicant[name] = values.get(name, "").strip()
    if kind == "individual":
        applicant["passport"] = passport if any(passport.values()) else None
    return applicant


def stages_of(values: dict[str, str]) -> list[dict[str, Any]]:
    rows = []
    for n in range(1, STAGE_ROWS + 1):
        title, power, on = (values.get(f"stage_{p}_{n}", "").strip() for p in ("title", "power", "date"))
        if title or power or on:
            rows.append({"title": title, "power_kw": number_of(power) or 0.0, "planned_on": on})
    return rows


def submission(
    kind: dict[str, Any], values: dict[str, str], documents: list[dict[str, str]], user: dict[str, Any]
) -> dict[str, Any]:
    """The body of ``POST /api/v1/applications``: what was typed, defaults left out."""
    power = number_of(values.get("power_kw", ""))
    body: dict[str, Any] = {
        "type_code": kind["code"],
        "power_kw": power if isinstance(power, float) else 0.0,
        "object_address": values.get("object_address", ""),
        "contact": {"phone": values.get("phone", ""), "email": values.get("email", "")},
        "documents": [{"slot": d["slot"], "file_id": d["file_id"]} for d in documents],
        "comment": values.get("comment", ""),
    }
    for name in ("object_name", "cadastral_number", "supplier", "settlement", "reduced_rate_category"):
        if values.get(name, "").strip():
            body[name] = values[name].strip()
    asked = choices(kind)
    for name, default in DEFAULTS.items():
        if name in asked and values.get(name, "") not in ("", default):
            body[name] = values[name]
    if "voltage_kv" in asked and values.get("voltage_kv"):
        body["voltage_kv"] = number_of(values["voltage_kv"])
    if "reliability_category" in asked and values.get("reliability_category"):
        body["reliability_category"] = whole_of(values["reliability_category"])
    if (previous := number_of(values.get("previous_power_kw", ""))) is not None:
        body["previous_power_kw"] = previous
    if (distance := whole_of(values.get("distance_m", ""))) is not None:
        body["distance_m"] = distance
    if stages := stages_of(values):
        body["stages"] = stages
    if (applicant := applicant_of(values, user)) is not None:
        body["applicant"] = applicant
    if representing(values):
        body["representative"] = {
            "power_of_attorney_number": values.get("poa_number", "").strip(),
            "power_of_attorney_issued_on": values.get("poa_issued_on", ""),
            "power_of_attorney_valid_until": values.get("poa_valid_until", "") or None,
        }
    return body
