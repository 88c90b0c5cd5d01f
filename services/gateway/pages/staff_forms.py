"""The standard forms staff make company documents from on the desk (pages/staff_issue.py):
for each kind of document its form's code and fields, and the inputs the desk shows."""

from __future__ import annotations

from typing import Any

# The kinds of company documents with a standard form, the form's code and its fields (the
# ``lk_<field>`` bookmarks; tests/unit keep them equal to services/files/forms/library.json).
FORMS: dict[str, tuple[str, tuple[str, ...]]] = {
    "offer_contract": ("contract_tp", ("company_details", "applicant_details")),
    "act_tu": ("act_tu", ("object", "max_power_kw", "voltage_category")),
    "act_meter": ("act_meter", ("object", "meter_owner")),
    "act_tp": (
        "act_tp",
        ("object", "max_power_kw", "previous_power_kw", "voltage_kv", "reliability_category"),
    ),
}
LABELS: dict[str, str] = {
    "object": "Наименование и место нахождения объекта",
    "max_power_kw": "Максимальная мощность, кВт",
    "previous_power_kw": "Ранее присоединённая максимальная мощность, кВт",
    "voltage_kv": "Уровень напряжения, кВ",
    "reliability_category": "Категория надёжности электроснабжения",
    "voltage_category": "Уровень напряжения, кВ; категория надёжности",
    "meter_owner": "Владелец прибора учёта",
    "company_details": "Сетевая организация: наименование, ИНН/КПП, адрес, банковские реквизиты",
    "applicant_details": "Заявитель: ФИО (наименование), паспорт (ОГРН), адрес, телефон",
}
MAX_VALUE = 1000  # the files service's limit per field


def fields_of(item: dict[str, Any], kinds: tuple[tuple[str, str], ...]) -> list[dict[str, Any]]:
    """The inputs of the form: each field once, prefilled from the application where it says,
    with the documents that use it."""
    prefilled = {"object": str(item.get("object_address", "")), "max_power_kw": _power(item.get("power_kw"))}
    titles = dict(kinds)
    return [
        {
            "name": name,
            "label": label,
            "value": prefilled.get(name, ""),
            "used_in": [titles[kind] for kind, (_, names) in FORMS.items() if name in names],
        }
        for name, label in LABELS.items()
    ]


def _power(value: object) -> str:
    if not isinstance(value, int | float):
        return ""
    return f"{value:g}".replace(".", ",")
