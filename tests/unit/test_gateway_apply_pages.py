"""The structured online application on the pages (services/gateway/pages/apply.py,
apply_form.py, apply_fields.py), the gateway alone behind a fake of the services shaped as
the contract of issue 13 says: the form pre-filled from the profile, only the choices a type
leaves open asked, the body posted as the API expects it, and every refusal at its input
(with the error summary focused). tests/e2e/test_apply_structured.py runs the same pages on
the real services."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.unit.apply_fake import (
    HOUSE_TYPE,
    Backend,
    applications_posted,
    fake_gateway,
    post,
    post_form,
    value_of,
)
from tests.unit.test_gateway_error_pages import USER


@pytest.fixture
def backend() -> Backend:
    return Backend()


@pytest.fixture
def gateway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: Backend) -> Iterator[TestClient]:
    yield from fake_gateway(tmp_path, monkeypatch, backend)


def test_a_company_form_is_prefilled_from_the_profile(gateway: TestClient) -> None:
    html = gateway.get("/apply/legal_150_670kw/new").text
    expected = {
        "organisation_name": "ООО «Ромашка»",
        "ogrn": "1027700132195",
        "inn": "7707083893",
        "kpp": "773601001",
        "phone": "+74951234567",
        "postal_address": "170000, г. Тверь, ул. Советская, д. 1",
        "email": "anna@example.ru",
        "last_name": "Петрова",
    }
    assert {name: value_of(html, name) for name in expected} == expected
    assert 'value="company" id="kind-company" checked' in html
    assert 'value="sole_trader" id="kind-sole_trader">' in html and 'value="individual"' not in html
    # The choices this type leaves open are asked; the lowest voltage and category III preselected.
    assert (
        '<option value="0.4" selected>0,4\u00a0кВ</option>' in html
        and '<option value="35">35\u00a0кВ' in html
    )
    assert '<option value="3" selected>III категория</option>' in html
    assert 'name="connection_kind" value="increase"' in html and 'id="previous_power_kw"' in html
    assert 'name="payment_option"' not in html and 'name="reduced_rate_category"' not in html
    # Only what cannot be typed is attached: no application form to sign here.
    assert 'id="doc_application_form"' not in html and 'id="doc_site_plan"' in html
    assert "Однолинейная схема (обязательно при напряжении 35 кВ и выше)" in html
    assert "Доверенность (обязательно, если заявку подаёт представитель)" in html
    assert "свыше 150\u00a0кВт и менее 670\u00a0кВт" in html


def test_a_household_form_shows_what_the_type_fixes(gateway: TestClient, backend: Backend) -> None:
    html = gateway.get("/apply/individual_15kw/new").text
    assert "Уровень напряжения: <strong>0,4\u00a0кВ</strong>" in html and 'id="voltage_kv"' not in html
    assert "Категория надёжности: <strong>III категория</strong>" in html
    assert '<input type="hidden" name="applicant_kind" value="individual">' in html
    assert 'id="organisation_name"' not in html and 'id="passport_series"' in html  # the kind's fields only
    assert 'id="payment_option"' in html and 'value="instalments"' in html  # instalments allowed here
    assert 'id="reduced_rate_category"' in html and 'id="doc_reduced_rate_document"' in html
    assert 'id="previous_power_kw"' not in html  # a new connection only
    # The profile says «company»: the form says so instead of filing the wrong kind quietly.
    assert "В профиле указан вид заявителя «Юридическое лицо»" in html
    backend.types["individual_15kw"] = {**HOUSE_TYPE, "paper_signature": True, "reduced_rate": False}
    html = gateway.get("/apply/individual_15kw/new").text
    assert 'id="doc_application_form"' in html and 'id="doc_reduced_rate_document"' not in html


def test_a_structured_application_posts_what_the_api_expects(gateway: TestClient, backend: Backend) -> None:
    sent = post_form(
        gateway,
        "legal_150_670kw",
        dict(
            applicant_kind="company",
            organisation_name="ООО «Ромашка»",
            ogrn="1027700132195",
            inn="7707083893",
            kpp="773601001",
            last_name="Петрова",
            first_name="Анна",
            passport_series="4510",  # another kind's field, typed before a switch: not sent
            phone="+7 495 123-45-67",
            email="anna@example.ru",
            object_name="Склад",
            object_address="г. Тверь, ул. Складская, д. 3",
            cadastral_number="69:40:0100123:45",
            connection_kind="increase",
            power_kw="300,5",
            previous_power_kw="100",
            voltage_kv="10",
            reliability_category="2",
            stage_title_1="Первая очередь",
            stage_power_1="200",
            stage_date_1="2026-09-01",
            supplier="ПАО «ТНС энерго Тверь»",
            distance_m="120",
            settlement="urban",
            representative="yes",
            poa_number="12/2026",
            poa_issued_on="2026-02-01",
            comment="",
        ),
        follow=False,
    )
    assert (sent.status_code, sent.headers["location"]) == (
        303,
        "/applications?submitted=%D0%A2%D0%9F-2026-000077",
    )
    assert applications_posted(backend) == [
        {
            "type_code": "legal_150_670kw",
            "power_kw": 300.5,
            "object_address": "г. Тверь, ул. Складская, д. 3",
            "contact": {"phone": "+7 495 123-45-67", "email": "anna@example.ru"},
            "documents": [],
            "comment": "",
            "object_name": "Склад",
            "cadastral_number": "69:40:0100123:45",
            "supplier": "ПАО «ТНС энерго Тверь»",
            "settlement": "urban",
            "connection_kind": "increase",
            "voltage_kv": 10.0,
            "reliability_category": 2,
            "previous_power_kw": 100.0,
            "distance_m": 120,
            "stages": [{"title": "Первая очередь", "power_kw": 200.0, "planned_on": "2026-09-01"}],
            "applicant": {
                "kind": "company",
                "last_name": "Петрова",
                "first_name": "Анна",
                "middle_name": "",
                "postal_address": "",
                "phone": "+7 495 123-45-67",
                "inn": "7707083893",
                "organisation_name": "ООО «Ромашка»",
                "ogrn": "1027700132195",
                "kpp": "773601001",
            },
            "representative": {
                "power_of_attorney_number": "12/2026",
                "power_of_attorney_issued_on": "2026-02-01",
                "power_of_attorney_valid_until": None,
            },
        }
    ]


def test_a_few_fields_post_the_body_of_before(gateway: TestClient, backend: Backend) -> None:
    """The journeys of earlier issues type power, address and phone only: the defaults are
    the API's, and a profile without requisites sends no applicant."""
    backend.user = {**USER, "first_name": "Анна", "last_name": "Петрова"}
    post(
        gateway,
        "individual_15kw",
        applicant_kind="individual",
        first_name="Анна",
        last_name="Петрова",
        power_kw="12",
        object_address="г. Тверь, ул. Садовая, д. 7",
        phone="+7 900 123-45-67",
        connection_kind="new",
        payment_option="lump_sum",
    )
    assert applications_posted(backend) == [
        {
            "type_code": "individual_15kw",
            "power_kw": 12.0,
            "object_address": "г. Тверь, ул. Садовая, д. 7",
            "contact": {"phone": "+7 900 123-45-67", "email": ""},
            "documents": [],
            "comment": "",
        }
    ]
