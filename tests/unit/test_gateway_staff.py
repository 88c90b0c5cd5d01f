"""The staff's page actions (services/gateway/pages/staff.py) apart from the browser: the
document kinds the form offers are the API's, amounts typed the Russian way are read, and the
API's refusals land at the fields of the form they concern."""

from __future__ import annotations

import httpx
import pytest

from services.applications.steps import CLOSING, KINDS
from services.gateway.pages import staff, staff_fields


def test_the_form_offers_the_apis_document_kinds() -> None:
    assert dict(staff.KINDS) == KINDS
    assert staff.CLOSING == CLOSING


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        ("550", "550"),
        ("12 500,50", "12500.50"),
        ("1\u00a0000,5", "1000.5"),
        ("abc", None),
        ("", None),
        ("nan", None),
    ],
)
def test_amounts_typed_the_russian_way(typed: str, sent: str | None) -> None:
    assert staff.rubles(typed) == sent


def answer(status: int, body: dict[str, object]) -> httpx.Response:
    return httpx.Response(status, json=body)


def test_refusals_at_the_fields() -> None:
    offer = staff_fields.refused({"invoice_amount": "", "term": "", "term_unit": "", "contract": ""})
    shown = offer(
        answer(
            422,
            {
                "code": "validation_error",
                "message": "Проверьте заполнение полей.",
                "errors": [
                    {"field": "invoice.amount_rub", "message": "слишком много"},
                    {"field": "state_buyer", "message": "Лишнее поле"},
                ],
            },
        )
    )
    assert shown["fields"] == {
        "invoice_amount": staff_fields.FIELD_TEXT["invoice_amount"]
    }  # the form's words
    assert (
        shown["error"] == f"Проверьте заполнение полей: {staff_fields.STATE_BUYER}"
    )  # no such field on the form
    assert offer(answer(422, {"code": "file_not_found", "message": "Файл не найден."}))["fields"] == {
        "contract": "Файл не найден."
    }
    pay = staff_fields.refused({"amount": "", "paid_at": "", "reference": ""})
    conflict = pay(answer(409, {"code": "payment_reference_conflict", "message": "Уже учтён."}))
    assert conflict["fields"] == {"reference": "Уже учтён."}
    assert pay(answer(422, {"code": "date_in_future", "message": "Позже сегодняшней."}))["fields"] == {
        "paid_at": "Позже сегодняшней."
    }
    connection = staff_fields.refused({"connected_at": "", "voltage_applied_at": ""})
    early = connection(answer(422, {"code": "voltage_before_connection", "message": "Раньше."}))
    assert early["fields"] == {"voltage_applied_at": "Раньше."}
    stage = connection(answer(409, {"code": "connection_not_allowed", "message": "Не тот этап."}))
    assert (stage["error"], stage["fields"]) == ("Не тот этап.", {})


def test_the_status_form_offers_staff_only_the_moves_no_fact_makes() -> None:
    staff_user, consumer = {"roles": ["staff"]}, {"roles": ["consumer"]}
    at_work = {"status": "in_work", "allowed_transitions": ["contract", "needs_documents", "annulled"]}
    assert staff.plain_moves(at_work, staff_user) == ["needs_documents", "annulled"]
    checked = {"status": "submitted", "allowed_transitions": ["in_work", "needs_documents", "annulled"]}
    assert staff.plain_moves(checked, staff_user) == ["in_work", "needs_documents", "annulled"]
    assert staff.plain_moves(
        {"status": "acts", "allowed_transitions": ["completed", "annulled"]}, staff_user
    ) == ["annulled"]
    own = {"status": "in_work", "allowed_transitions": ["annulled"]}
    assert staff.plain_moves(own, consumer) == ["annulled"]
