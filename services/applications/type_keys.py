"""The keys of a catalog type that say whom it is for and what an application under it may
state (issue 13): applicant kinds, power bounds, voltages, categories, connection kinds,
payment options, the reduced rate, the paper signature, the activities' terms.

Types stored before these keys existed (a deployment's event store, or an admin's entry)
get them when read: :func:`with_keys` fills what is missing from the seed entry of the same
code, else from the generic defaults below. The seed itself upgrades a stored seed type that
no admin has edited (catalog.py).
"""

from __future__ import annotations

import copy
from typing import Any

INDIVIDUAL, SOLE_TRADER, COMPANY = "individual", "sole_trader", "company"
APPLICANT_KINDS = (INDIVIDUAL, SOLE_TRADER, COMPANY)
KIND_TITLES = {
    INDIVIDUAL: "физическое лицо",
    SOLE_TRADER: "индивидуальный предприниматель",
    COMPANY: "юридическое лицо",
}
VOLTAGES_KV = (0.4, 6.0, 10.0, 20.0, 35.0, 110.0, 220.0)
CATEGORIES = (1, 2, 3)
CONNECTION_KINDS = {
    "new": "новое присоединение",
    "increase": "увеличение максимальной мощности",
    "scheme_change": "изменение схемы внешнего электроснабжения (категории надёжности, точек присоединения)",
}
PAYMENT_OPTIONS = {"lump_sum": "единовременно", "instalments": "в рассрочку"}
REDUCED_RATE_CATEGORIES = {
    "low_income": "малоимущие граждане",
    "veteran": "ветераны боевых действий",
    "disabled": "инвалиды и семьи с детьми-инвалидами",
    "large_family": "многодетные семьи",
}
APPLICATION_FORM = "application_form"
SEED_ACTOR = "seed"  # the actor of the seed's own upgrades (admins are accounts)

DEFAULTS: dict[str, Any] = {
    "applicant_kinds": list(APPLICANT_KINDS),
    "min_power_kw": None,
    "voltages_kv": list(VOLTAGES_KV),
    "categories": list(CATEGORIES),
    "connection_kinds": list(CONNECTION_KINDS),
    "payment_options": ["lump_sum"],
    "reduced_rate": False,
    "activity_terms": [],
}
KEYS = (*DEFAULTS, "paper_signature", "min_power_inclusive", "max_power_exclusive")
"""The new keys every type carries (the bound flags only where true)."""


def with_keys(data: dict[str, Any], seed: dict[str, Any] | None = None) -> dict[str, Any]:
    """``data`` with every key of issue 13: the stored value, else the seed entry's (same
    code), else the default. A type without ``paper_signature`` needs it where its checklist
    required the signed form. The signed form's slot is required exactly where the type wants
    a paper signature (the form is generated from the application otherwise)."""
    out = copy.deepcopy(data)
    source = seed or {}
    for key, default in DEFAULTS.items():
        if key not in out:
            out[key] = copy.deepcopy(source.get(key, default))
    for flag in ("min_power_inclusive", "max_power_exclusive"):
        if flag not in out and source.get(flag):
            out[flag] = True
    if "paper_signature" not in out:
        required = any(d["code"] == APPLICATION_FORM and d["required"] for d in out.get("documents", []))
        out["paper_signature"] = bool(source.get("paper_signature", required))
    out["documents"] = [
        {**d, "required": bool(out["paper_signature"])} if d["code"] == APPLICATION_FORM else d
        for d in out.get("documents", [])
    ]
    return out


def only(values: list[Any]) -> Any:
    """The one legal value, or None when there are several."""
    return values[0] if len(values) == 1 else None


def number(value: float) -> str:
    """A power or voltage as documents write it: «0,4», «15», «12,5»."""
    return f"{value:g}".replace(".", ",")
