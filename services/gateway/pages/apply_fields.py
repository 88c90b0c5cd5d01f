"""Every refusal of ``POST /api/v1/applications`` at the field of the structured form it
concerns: the API's field names (``applicant.inn``, ``stages.0.power_kw``,
``representative.power_of_attorney_number``) become the form's inputs, a refusal named by
its code alone (``voltage_not_allowed``) goes to its input, and what concerns an input the
form does not show (a value fixed by the type) stays in the summary above the form."""

from __future__ import annotations

import re
from typing import Any

import httpx

from services.gateway.pages import slots
from services.gateway.pages.apply_form import FIELDS, asks_previous, choices
from services.gateway.pages.calls import error_list, refusal_of
from services.gateway.pages.post import Refused

LABELS = {
    "object_name": "Наименование объекта",
    "object_address": "Адрес объекта",
    "cadastral_number": "Кадастровый номер",
    "connection_kind": "Вид присоединения",
    "power_kw": "Максимальная мощность",
    "previous_power_kw": "Ранее присоединённая мощность",
    "voltage_kv": "Уровень напряжения",
    "reliability_category": "Категория надёжности",
    "stages": "Этапы",
    "supplier": "Гарантирующий поставщик",
    "payment_option": "Порядок оплаты",
    "reduced_rate_category": "Льготная категория",
    "distance_m": "Расстояние до сетей",
    "settlement": "Местность",
    "applicant_kind": "Вид заявителя",
    "last_name": "Фамилия",
    "first_name": "Имя",
    "middle_name": "Отчество",
    "organisation_name": "Наименование организации",
    "inn": "ИНН",
    "ogrn": "ОГРН",
    "ogrnip": "ОГРНИП",
    "kpp": "КПП",
    "passport_series": "Серия паспорта",
    "passport_number": "Номер паспорта",
    "passport_issued_by": "Кем выдан",
    "passport_issued_on": "Дата выдачи",
    "postal_address": "Почтовый адрес",
    "phone": "Телефон",
    "email": "E-mail для связи",
    "comment": "Комментарий",
    "poa_number": "Номер доверенности",
    "poa_issued_on": "Дата выдачи доверенности",
    "poa_valid_until": "Срок действия доверенности",
    "documents": "Документы",
}
# The form's words for a value the API's schema refuses (its own message is generic).
FIELD_TEXT = {
    **slots.FIELD_TEXT,
    "object_name": "Укажите наименование объекта, например «Жилой дом» (до 500 символов).",
    "cadastral_number": "Кадастровый номер — в виде 69:40:0100123:45.",
    "previous_power_kw": "Укажите ранее присоединённую мощность в кВт числом, например 5 (0 — если её нет).",
    "voltage_kv": "Выберите уровень напряжения из списка.",
    "applicant_kind": "Выберите вид заявителя: физическое лицо, ИП или юридическое лицо.",
    "payment_option": "Выберите порядок оплаты.",
    "connection_kind": "Выберите вид присоединения.",
    "reduced_rate_category": "Выберите льготную категорию из списка.",
    "reliability_category": "Выберите категорию надёжности из списка.",
    "distance_m": "Укажите расстояние до сетей в метрах целым числом, например 120.",
    "settlement": "Выберите: город или сельская местность.",
    "supplier": "Гарантирующий поставщик — не длиннее 500 символов.",
    "poa_number": "Укажите номер доверенности.",
    "poa_issued_on": "Укажите дату выдачи доверенности.",
    "poa_valid_until": "Срок действия доверенности — дата не раньше даты выдачи.",
    "stage_title": "Укажите, что входит в этап, например «Первая очередь».",
    "stage_power": "Укажите мощность этапа в кВт числом больше нуля.",
    "stage_date": "Укажите планируемую дату ввода этапа.",
}
SAME = {f for f in FIELDS if not f.startswith(("stage_", "poa_", "passport_"))} - {"phone", "email"}
REPRESENTATIVE = {
    "power_of_attorney_number": "poa_number",
    "power_of_attorney_issued_on": "poa_issued_on",
    "power_of_attorney_valid_until": "poa_valid_until",
}
STAGE = re.compile(r"^stages\.(\d+)\.(title|power_kw|planned_on)$")
REQUIRED = "Обязательное поле."  # the API's word for a requisite left empty
STAGE_PART = {"title": "title", "power_kw": "power", "planned_on": "date"}
# A refusal the API names by its code alone, and the input it concerns.
CODE_FIELDS = {
    "power_exceeds_limit": "power_kw",
    "power_below_minimum": "power_kw",
    "applicant_kind_not_allowed": "applicant_kind",
    "inn_invalid": "inn",
    "ogrn_invalid": "ogrn",
    "ogrnip_invalid": "ogrnip",
    "kpp_invalid": "kpp",
    "voltage_not_allowed": "voltage_kv",
    "voltage_required": "voltage_kv",
    "category_not_allowed": "reliability_category",
    "connection_kind_not_allowed": "connection_kind",
    "instalments_not_allowed": "payment_option",
    "reduced_rate_not_allowed": "reduced_rate_category",
    "previous_power_required": "previous_power_kw",
    "cadastral_number_invalid": "cadastral_number",
    "power_of_attorney_required": "poa_number",
}


def form_field(api: str) -> str:
    """The form's input for the API's field name ("" for none)."""
    if stage := STAGE.match(api):
        return f"stage_{STAGE_PART[stage.group(2)]}_{int(stage.group(1)) + 1}"
    if api.startswith("stages"):  # the stages together (their power over the total)
        return "stage_power_1"
    head, _, rest = api.partition(".")
    if head == "applicant":
        if rest in ("", "kind"):
            return "applicant_kind"
        if rest.startswith("passport"):
            part = rest.partition(".")[2] or "series"
            return f"passport_{part}"
        return rest if rest in FIELDS else ""
    if head == "representative":
        return REPRESENTATIVE.get(rest, "poa_number")
    if head == "contact":
        return "email" if rest == "email" else "phone"
    if head == "documents":
        return "documents"
    return api if api in SAME else ""


def text_for(name: str) -> str:
    return FIELD_TEXT.get(name) or FIELD_TEXT.get(name.rsplit("_", 1)[0], "Проверьте значение этого поля.")


def shown_names(kind: dict[str, Any]) -> set[str]:
    """The inputs the form shows for ``kind`` (a choice of one value is not shown)."""
    asked = choices(kind)
    hidden = {"voltage_kv", "reliability_category", "connection_kind", "payment_option", "applicant_kind"}
    names = {*FIELDS} - (hidden - set(asked))
    if not kind.get("reduced_rate"):
        names.discard("reduced_rate_category")
    if not asks_previous(kind):
        names.discard("previous_power_kw")
    names |= {slots.input_of(s["code"]) for s in slots.slots_of(kind, filing=True)} | {"documents"}
    return names


def refusal(
    answer: httpx.Response, kind: dict[str, Any], documents: list[dict[str, str]], conditions: dict[str, Any]
) -> tuple[str, dict[str, str]]:
    """(summary, messages at the inputs) of a refused submission."""
    summary, fields = slots.refusal(answer, kind, documents, conditions)
    _, api_fields, code = refusal_of(answer)
    try:
        top = answer.json().get("field")
    except (ValueError, AttributeError):
        top = None
    if isinstance(top, str) and top and top not in api_fields:
        api_fields = {top: summary, **api_fields}
    for error in error_list(answer) or [{"field": k, "message": v} for k, v in api_fields.items()]:
        name = form_field(str(error.get("field", "")))
        if name and name not in fields:
            own = str(error.get("message", "")).strip() or summary
            if str(error.get("code", "")).endswith("_required") and own == REQUIRED:
                own = f"Заполните поле «{LABELS.get(name, name)}»."
            fields[name] = text_for(name) if code == "validation_error" else own
    if not fields and code in CODE_FIELDS:
        fields[CODE_FIELDS[code]] = summary
    shown = shown_names(kind)
    elsewhere = [m for n, m in fields.items() if n not in shown]
    fields = {n: m for n, m in fields.items() if n in shown}
    if elsewhere:
        return " ".join(dict.fromkeys([summary.rstrip(".") + ".", *elsewhere])), fields
    return (slots.CHECK_FIELDS if summary == REQUIRED else summary), fields


def refused(kind: dict[str, Any], documents: list[dict[str, str]], conditions: dict[str, Any]) -> Refused:
    def shown(answer: httpx.Response) -> dict[str, Any]:
        summary, fields = refusal(answer, kind, documents, conditions)
        return {"error": summary, "fields": fields}

    return shown
