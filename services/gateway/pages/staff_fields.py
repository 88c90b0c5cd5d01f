"""What the API refuses on the staff's forms (pages/staff.py), at the field it concerns, in
the form's words; the rest above the form."""

from __future__ import annotations

from typing import Any

import httpx

from services.gateway.pages.calls import refusal_of

# The API's field → the form's.
FIELDS = {
    "invoice.amount_rub": "invoice_amount",
    "invoice": "invoice_amount",
    "activities_term": "term",
    "activities_term.months": "term",
    "activities_term.working_days": "term",
    "amount_rub": "amount",
    "paid_at": "paid_at",
    "reference": "reference",
    "connected_at": "connected_at",
    "voltage_applied_at": "voltage_applied_at",
    "kind": "kind",
    "file_id": "file",
}
# The form's own words for what the API's validation refuses at a field.
FIELD_TEXT = {
    "invoice_amount": "Укажите сумму счёта больше нуля, не более двух знаков после запятой.",
    "amount": "Укажите сумму платежа больше нуля, не более двух знаков после запятой.",
    "term": "Срок: от 1 до 120 месяцев или от 1 до 3650 рабочих дней.",
    "paid_at": "Укажите дату платежа (не раньше 2000 года).",
    "reference": "Номер платёжного документа: до 100 знаков, без пробелов по краям.",
    "connected_at": "Укажите дату присоединения (не раньше 2000 года).",
    "voltage_applied_at": "Укажите дату подачи напряжения (не раньше 2000 года).",
}
STATE_BUYER = "Отметка «заказчик по 44-ФЗ» пока не принимается сервисом: снимите её и повторите."
CODES = {  # refusals the API names by code, at the field they concern
    "amount_not_positive": "amount",
    "payment_reference_conflict": "reference",
    "voltage_before_connection": "voltage_applied_at",
    "unknown_document_kind": "kind",
}


def refused(values: dict[str, str]) -> Any:
    """The API's refusal at the form's fields (the rest above the form)."""

    def shown(answer: httpx.Response) -> dict[str, Any]:
        summary, api_fields, code = refusal_of(answer)
        fields = {
            FIELDS[k]: FIELD_TEXT.get(FIELDS[k], v) for k, v in api_fields.items() if FIELDS.get(k) in values
        }
        at = (
            "invoice_amount"
            if code == "amount_not_positive" and "invoice_amount" in values
            else CODES.get(code)
        )
        if at in values:
            fields[str(at)] = summary
        if code == "date_in_future":
            fields["voltage_applied_at" if "voltage_applied_at" in values else "paid_at"] = summary
        if code == "file_not_found":
            fields["contract" if "contract" in values else "file"] = summary
        rest = [
            STATE_BUYER if k == "state_buyer" else m
            for k, m in api_fields.items()
            if FIELDS.get(k) not in values
        ]
        banner = " ".join([summary.rstrip(".") + ":", *rest]) if rest else summary
        return {"error": banner, "fields": fields}

    return shown
