"""The standard forms staff make company documents from on the desk (pages/staff_issue.py):
for each choice its form's code and fields, and the inputs the desk shows. A choice is the
kind of company document, or ``kind:code`` where one kind has several forms (the offer: the
standard contract of each category, the one for the application's type offered first)."""

from __future__ import annotations

from typing import Any

_CONTRACT = (
    "object",
    "max_power_kw",
    "previous_power_kw",
    "voltage_kv",
    "reliability_category",
    "fee",
    "company_details",
    "applicant_details",
)
_BOUNDS = ("boundary_balance", "boundary_operational")
_DATES = ("connection_date", "voltage_date")
_CHARACTERISTICS = ("object", "max_power_kw", "previous_power_kw")

# The choices with a standard form, the form's code and its fields (the ``lk_<field>``
# bookmarks; tests/unit keep them equal to services/files/forms/*.json).
FORMS: dict[str, tuple[str, tuple[str, ...]]] = {
    "offer_contract": ("contract_tp", _CONTRACT),
    "offer_contract:contract_150kw": ("contract_150kw", _CONTRACT),
    "offer_contract:contract_150_670kw": ("contract_150_670kw", _CONTRACT),
    "offer_contract:contract_over_670kw": ("contract_over_670kw", _CONTRACT),
    "offer_contract:contract_temporary": ("contract_temporary", _CONTRACT),
    "offer_contract:contract_redistribution": ("contract_redistribution", _CONTRACT),
    "act_tu": ("act_tu", ("object", "max_power_kw", "voltage_category")),
    "act_meter": ("act_meter", ("object", "meter_owner")),
    "closing_notice": (
        "notice_possibility",
        (*_CHARACTERISTICS, "voltage_kv", "reliability_category", *_BOUNDS, *_DATES),
    ),
    "act_tp": (
        "act_tp",
        (
            *_CHARACTERISTICS,
            "transformer_kva",
            "voltage_kv",
            "reliability_category",
            *_BOUNDS,
            "protection",
            "automatics",
            "reserve_source",
            *_DATES,
        ),
    ),
}
# The offer's contract per category (the application types each is for, as the forms say).
CONTRACTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "offer_contract": ("до 15 кВт включительно, физические лица", ("individual_15kw",)),
    "offer_contract:contract_150kw": (
        "до 150 кВт включительно",
        ("legal_150kw", "microgeneration_150kw", "individual_150kw"),
    ),
    "offer_contract:contract_150_670kw": ("свыше 150 кВт и менее 670 кВт", ("legal_150_670kw",)),
    "offer_contract:contract_over_670kw": (
        "670 кВт и более",
        ("over_670kw", "generation", "adjacent_grid"),
    ),
    "offer_contract:contract_temporary": ("временное присоединение", ("temporary", "mobile")),
    "offer_contract:contract_redistribution": ("перераспределение мощности", ("redistribution",)),
}
LABELS: dict[str, str] = {
    "object": "Наименование и место нахождения объекта",
    "max_power_kw": "Максимальная мощность, кВт",
    "previous_power_kw": "Ранее присоединённая максимальная мощность, кВт",
    "transformer_kva": "Совокупная номинальная мощность присоединённых трансформаторов, кВА",
    "voltage_kv": "Уровень напряжения, кВ",
    "reliability_category": "Категория надёжности электроснабжения",
    "voltage_category": "Уровень напряжения, кВ; категория надёжности",
    "meter_owner": "Владелец прибора учёта",
    "boundary_balance": "Граница балансовой принадлежности",
    "boundary_operational": "Граница эксплуатационной ответственности",
    "protection": "Устройства защиты и релейной защиты",
    "automatics": "Противоаварийная и режимная автоматика",
    "reserve_source": "Автономный резервный источник питания",
    "connection_date": "Дата фактического присоединения",
    "voltage_date": "Дата фактической подачи напряжения и мощности",
    "fee": "Размер платы за ТП, руб. (в том числе НДС)",
    "company_details": "Сетевая организация: наименование, ИНН/КПП, адрес, банковские реквизиты",
    "applicant_details": "Заявитель: ФИО (наименование), паспорт (ОГРН), адрес, телефон",
}
MAX_VALUE = 1000  # the files service's limit per field


def kind_of(choice: str) -> str:
    """The kind of company document a choice makes (``offer_contract:contract_150kw`` → the offer)."""
    return choice.split(":", 1)[0]


def title_of(choice: str, kinds: tuple[tuple[str, str], ...]) -> str:
    """The choice as the list shows it: the document, and for a contract its category."""
    title = dict(kinds)[kind_of(choice)]
    return f"{title}: {CONTRACTS[choice][0]}" if choice in CONTRACTS else title


def choices(item: dict[str, Any], kinds: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
    """The desk's list: the documents in the process's order; the offer's contract for the
    application's type first among the contracts."""
    type_code = str(item.get("type_code", ""))
    listed = [c for kind, _ in kinds for c in FORMS if kind_of(c) == kind]
    listed.sort(
        key=lambda c: (kind_of(c) != "offer_contract", type_code not in CONTRACTS.get(c, ("", ()))[1])
    )
    return [(c, title_of(c, kinds)) for c in listed]


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
            "used_in": list(
                dict.fromkeys(
                    titles[kind_of(choice)] for choice, (_, names) in FORMS.items() if name in names
                )
            ),
        }
        for name, label in LABELS.items()
    ]


def _power(value: object) -> str:
    if not isinstance(value, int | float):
        return ""
    return f"{value:g}".replace(".", ",")
