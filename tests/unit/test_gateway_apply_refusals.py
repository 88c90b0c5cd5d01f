"""Every refusal of ``POST /api/v1/applications`` at the input of the structured form it
concerns (services/gateway/pages/apply_fields.py), behind the fake services of
test_gateway_apply_pages.py: the message at the input and read with it (aria-describedby),
the error summary focused with a link to the input, what was typed kept; a refusal of a
value the form does not show stays in the summary; the power of attorney becomes required
for a representative."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.gateway.pages.apply_fields import form_field
from tests.unit.apply_fake import Backend, fake_gateway, post_form


@pytest.fixture
def backend() -> Backend:
    return Backend()


@pytest.fixture
def gateway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: Backend) -> Iterator[TestClient]:
    yield from fake_gateway(tmp_path, monkeypatch, backend)


COMPANY = {
    "applicant_kind": "company",
    "organisation_name": "ООО «Ромашка»",
    "ogrn": "1027700132195",
    "inn": "7707083893",
    "power_kw": "300",
    "object_address": "г. Тверь, ул. Складская, д. 3",
    "phone": "+7 495 123-45-67",
}


def one(field: str, code: str, message: str) -> dict[str, Any]:
    return {"code": code, "message": message, "errors": [{"field": field, "code": code, "message": message}]}


@pytest.mark.parametrize(
    ("api", "field"),
    [
        ("applicant.inn", "inn"),
        ("applicant.kind", "applicant_kind"),
        ("applicant", "applicant_kind"),
        ("applicant.passport.series", "passport_series"),
        ("applicant.passport", "passport_series"),
        ("applicant.organisation_name", "organisation_name"),
        ("stages.0.power_kw", "stage_power_1"),
        ("stages.2.planned_on", "stage_date_3"),
        ("stages.1.title", "stage_title_2"),
        ("stages", "stage_power_1"),
        ("representative.power_of_attorney_issued_on", "poa_issued_on"),
        ("representative", "poa_number"),
        ("contact.phone", "phone"),
        ("contact.email", "email"),
        ("documents.0.slot", "documents"),
        ("voltage_kv", "voltage_kv"),
        ("cadastral_number", "cadastral_number"),
        ("type_code", ""),
        ("applicant.nonsense", ""),
    ],
)
def test_the_api_names_become_the_form_inputs(api: str, field: str) -> None:
    assert form_field(api) == field


REFUSALS = [
    # (the API's answer, the input, its message)
    (
        one("applicant.inn", "inn_invalid", "ИНН — 10 цифр с верными контрольными цифрами."),
        "inn",
        "ИНН — 10 цифр",
    ),
    (
        one("applicant.kind", "applicant_kind_not_allowed", "Этот вид заявки подаёт: ИП, юридическое лицо."),
        "applicant_kind",
        "Этот вид заявки подаёт: ИП, юридическое лицо.",
    ),
    (
        one("applicant.organisation_name", "organisation_name_required", "Обязательное поле."),
        "organisation_name",
        "Заполните поле «Наименование организации».",
    ),
    (
        {"code": "power_below_minimum", "message": "Для этого вида заявки мощность — свыше 150 кВт."},
        "power_kw",
        "Для этого вида заявки мощность — свыше 150 кВт.",
    ),
    (
        one("voltage_kv", "voltage_not_allowed", "Для этого вида заявки уровень напряжения: 0,4 кВ."),
        "voltage_kv",
        "уровень напряжения: 0,4 кВ",
    ),
    (
        {
            "code": "category_not_allowed",
            "message": "Категория надёжности: 2, 3.",
            "field": "reliability_category",
        },
        "reliability_category",
        "Категория надёжности: 2, 3.",
    ),
    (
        {
            "code": "validation_error",
            "message": "Проверьте заполнение полей.",
            "errors": [{"field": "stages.0.power_kw", "code": "float_parsing", "message": "ожидается число"}],
        },
        "stage_power_1",
        "Укажите мощность этапа в кВт числом больше нуля.",
    ),
    (
        {
            "code": "validation_error",
            "message": "Проверьте заполнение полей.",
            "errors": [{"field": "cadastral_number", "code": "string_pattern_mismatch", "message": "x"}],
        },
        "cadastral_number",
        "Кадастровый номер — в виде 69:40:0100123:45.",
    ),
    (
        one(
            "previous_power_kw",
            "previous_power_required",
            "При увеличении мощности укажите ранее присоединённую мощность.",
        ),
        "previous_power_kw",
        "При увеличении мощности укажите ранее присоединённую мощность.",
    ),
]


@pytest.mark.parametrize(("body", "field", "message"), REFUSALS)
def test_a_refusal_is_shown_at_its_input(
    gateway: TestClient, backend: Backend, body: dict[str, Any], field: str, message: str
) -> None:
    backend.answer = (422, body)
    html = post_form(gateway, "legal_150_670kw", {**COMPANY, "object_name": "Склад"}).text
    at = re.search(rf'<p class="msg" id="{field}-msg">([^<]*)</p>', html)
    assert at and message in at.group(1), html[html.find('role="alert"') :][:600]
    described = re.search(rf'id="{re.escape(field)}"[^>]*aria-describedby="([^"]*)"', html) or re.search(
        rf'aria-describedby="({field}-msg)"', html
    )
    assert described and f"{field}-msg" in described.group(1).split()
    summary = html[html.index('id="error-summary"') - 60 :]
    assert 'role="alert" id="error-summary" tabindex="-1" autofocus' in summary
    anchor = "kind-sole_trader" if field == "applicant_kind" else field
    assert f'href="#{anchor}"' in summary.split("</div>")[0]
    assert html.count(" autofocus") == 1  # the summary alone takes the focus
    assert 'value="Склад"' in html  # what was typed is kept


def test_a_refusal_of_a_value_the_form_does_not_show_is_in_the_summary(
    gateway: TestClient, backend: Backend
) -> None:
    backend.answer = (
        422,
        one("voltage_kv", "voltage_not_allowed", "Для этого вида заявки напряжение: 0,4 кВ."),
    )
    html = post_form(
        gateway, "individual_15kw", {"power_kw": "12", "object_address": "г. Тверь, ул. Садовая, д. 7"}
    ).text
    assert 'id="voltage_kv-msg"' not in html
    summary = html[html.index('id="error-summary"') :].split("</div>")[0]
    assert "Для этого вида заявки напряжение: 0,4 кВ." in summary


@pytest.mark.parametrize(
    ("representative", "missing"),
    [
        ("", ["doc_site_plan"]),
        ("yes", ["doc_site_plan", "doc_power_of_attorney"]),
    ],
)
def test_a_representative_must_attach_the_power_of_attorney(
    gateway: TestClient, backend: Backend, representative: str, missing: list[str]
) -> None:
    backend.answer = (422, {"code": "documents_missing", "message": "Не приложены обязательные документы."})
    fields = {**COMPANY, "representative": representative, "poa_number": "7", "poa_issued_on": "2026-01-10"}
    html = post_form(gateway, "legal_150_670kw", fields).text
    marked = re.findall(r'<p class="msg" id="(doc_\w+)-msg">', html)
    assert marked == missing  # the single-line diagram: not at 0,4 kV
    if representative:
        [body] = [b for path, b in backend.posts if path == "/api/v1/applications"]
        assert body["representative"]["power_of_attorney_number"] == "7"
        assert 'id="representative" name="representative" value="yes" checked' in html


def test_a_single_line_diagram_is_required_from_35_kv(gateway: TestClient, backend: Backend) -> None:
    backend.answer = (422, {"code": "documents_missing", "message": "Не приложены обязательные документы."})
    html = post_form(gateway, "legal_150_670kw", {**COMPANY, "voltage_kv": "35"}).text
    assert re.findall(r'<p class="msg" id="(doc_\w+)-msg">', html) == ["doc_site_plan", "doc_single_line"]
