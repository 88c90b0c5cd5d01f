"""The structured application checked per type (issue 13), on the seeded catalog: both power
bounds at 15, 150 and 670 kW, whom a type is for, the requisites' control digits, voltage,
category, connection kind, payment option and reduced rate; every refusal names its field;
the defaults of a field left out; the documents a request makes required."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from services.applications.actor import Actor
from services.applications.app import ApplicationsApp
from services.applications.request_rules import checked_request
from shared.errors import Invalid
from shared.settings import Settings

APPLICANT = Actor("applicant-1", "consumer", "Иван Петров", "ivan@example.ru")
PERSON = {"kind": "individual", "last_name": "Петров", "first_name": "Иван", "inn": "500100732259"}
TRADER = {
    "kind": "sole_trader",
    "last_name": "Петров",
    "first_name": "Иван",
    "inn": "500100732259",
    "ogrnip": "304500116000157",
}
COMPANY = {
    "kind": "company",
    "organisation_name": "ООО «Ромашка»",
    "inn": "7707083893",
    "ogrn": "1027700132195",
}
POA = {"power_of_attorney_number": "77 АБ 1234567", "power_of_attorney_issued_on": "2026-01-15"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> ApplicationsApp:
    settings = Settings(var_dir=Path(tmp_path_factory.mktemp("apps")), secret_key="k" * 40)
    instance = ApplicationsApp(settings, env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    instance.seed_catalog()
    return instance


def refusal(app: ApplicationsApp, code: str, power: float, request: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(Invalid) as caught:
        checked_request(app.types[code], power, request)
    return [(e["field"], e["code"]) for e in caught.value.errors or []]


@pytest.mark.parametrize(
    ("type_code", "power", "code"),
    [
        ("individual_15kw", 15, "ok"),  # «до 15 кВт включительно»
        ("individual_15kw", 15.01, "power_exceeds_limit"),
        ("individual_150kw", 15, "power_below_minimum"),  # «свыше 15 кВт»
        ("individual_150kw", 15.01, "ok"),
        ("individual_150kw", 150, "ok"),
        ("individual_150kw", 150.01, "power_exceeds_limit"),
        ("legal_150kw", 0.5, "ok"),
        ("legal_150kw", 150, "ok"),
        ("legal_150kw", 150.01, "power_exceeds_limit"),
        ("legal_150_670kw", 150, "power_below_minimum"),  # «свыше 150 кВт …
        ("legal_150_670kw", 150.01, "ok"),
        ("legal_150_670kw", 669.99, "ok"),
        ("legal_150_670kw", 670, "power_exceeds_limit"),  # … и менее 670 кВт»: 670 is the top's
        ("over_670kw", 669.99, "power_below_minimum"),
        ("over_670kw", 670, "ok"),
        ("over_670kw", 100000, "ok"),
        ("over_670kw", 100000.5, "power_exceeds_limit"),
        ("mobile", 150, "ok"),
        ("mobile", 150.01, "power_exceeds_limit"),
    ],
)
def test_power_bounds_on_both_sides(app: ApplicationsApp, type_code: str, power: float, code: str) -> None:
    kind = app.types[type_code]
    if code == "ok":
        assert checked_request(kind, power, {})["voltage_kv"] == min(kind["voltages_kv"])
    else:
        assert refusal(app, type_code, power, {}) == [("power_kw", code)]


@pytest.mark.parametrize(
    ("type_code", "power", "request_", "field", "code"),
    [
        ("individual_15kw", 10, {"applicant": COMPANY}, "applicant.kind", "applicant_kind_not_allowed"),
        ("legal_150kw", 100, {"applicant": PERSON}, "applicant.kind", "applicant_kind_not_allowed"),
        ("adjacent_grid", 1000, {"applicant": TRADER}, "applicant.kind", "applicant_kind_not_allowed"),
        ("legal_150kw", 100, {"applicant": {**COMPANY, "inn": "7707083894"}}, "applicant.inn", "inn_invalid"),
        (
            "legal_150kw",
            100,
            {"applicant": {**COMPANY, "inn": "500100732259"}},
            "applicant.inn",
            "inn_invalid",
        ),
        (
            "legal_150kw",
            100,
            {"applicant": {**COMPANY, "ogrn": "1027700132196"}},
            "applicant.ogrn",
            "ogrn_invalid",
        ),
        (
            "legal_150kw",
            100,
            {"applicant": {**TRADER, "ogrnip": "304500116000158"}},
            "applicant.ogrnip",
            "ogrnip_invalid",
        ),
        (
            "individual_15kw",
            10,
            {"applicant": {**PERSON, "inn": "500100732258"}},
            "applicant.inn",
            "inn_invalid",
        ),
        (
            "individual_15kw",
            10,
            {"applicant": {**PERSON, "ogrn": "1027700132195"}},
            "applicant.ogrn",
            "field_not_for_kind",
        ),
        (
            "individual_15kw",
            10,
            {"applicant": {**PERSON, "inn": ""}},
            "applicant.passport",
            "passport_required",
        ),
        (
            "individual_15kw",
            10,
            {"applicant": {**PERSON, "passport": {"series": "45 1", "number": "123456"}}},
            "applicant.passport.series",
            "passport_series_invalid",
        ),
        (
            "legal_150kw",
            100,
            {"applicant": {**COMPANY, "organisation_name": ""}},
            "applicant.organisation_name",
            "organisation_name_required",
        ),
        ("individual_15kw", 10, {"voltage_kv": 110}, "voltage_kv", "voltage_not_allowed"),
        ("individual_15kw", 10, {"voltage_kv": 10}, "voltage_kv", "voltage_not_allowed"),
        ("legal_150kw", 100, {"voltage_kv": 35}, "voltage_kv", "voltage_not_allowed"),
        ("individual_15kw", 10, {"reliability_category": 1}, "reliability_category", "category_not_allowed"),
        ("individual_15kw", 10, {"reliability_category": 2}, "reliability_category", "category_not_allowed"),
        ("legal_150kw", 100, {"reliability_category": 1}, "reliability_category", "category_not_allowed"),
        (
            "temporary",
            100,
            {"connection_kind": "increase", "previous_power_kw": 50},
            "connection_kind",
            "connection_kind_not_allowed",
        ),
        (
            "legal_150_670kw",
            300,
            {"payment_option": "instalments"},
            "payment_option",
            "instalments_not_allowed",
        ),
        ("over_670kw", 1000, {"payment_option": "instalments"}, "payment_option", "instalments_not_allowed"),
        (
            "legal_150kw",
            100,
            {"reduced_rate_category": "low_income"},
            "reduced_rate_category",
            "reduced_rate_not_allowed",
        ),
        (
            "individual_15kw",
            10,
            {"connection_kind": "increase"},
            "previous_power_kw",
            "previous_power_required",
        ),
        (
            "individual_15kw",
            10,
            {"connection_kind": "increase", "previous_power_kw": 10},
            "previous_power_kw",
            "previous_power_required",
        ),
        ("individual_15kw", 10, {"previous_power_kw": 5}, "previous_power_kw", "previous_power_not_for_new"),
        (
            "individual_15kw",
            10,
            {
                "stages": [
                    {"title": "1", "power_kw": 6, "planned_on": "2027-01-01"},
                    {"title": "2", "power_kw": 5, "planned_on": "2027-06-01"},
                ]
            },
            "stages",
            "stages_exceed_power",
        ),
        (
            "individual_15kw",
            10,
            {"representative": {**POA, "power_of_attorney_valid_until": "2026-01-31"}},
            "representative.power_of_attorney_valid_until",
            "power_of_attorney_expired",
        ),
        (
            "individual_15kw",
            10,
            {"representative": {**POA, "power_of_attorney_issued_on": "2099-01-01"}},
            "representative.power_of_attorney_issued_on",
            "power_of_attorney_not_yet_issued",
        ),
    ],
)
def test_each_refusal_names_its_field(
    app: ApplicationsApp, type_code: str, power: float, request_: dict[str, Any], field: str, code: str
) -> None:
    assert refusal(app, type_code, power, request_) == [(field, code)]


def test_every_field_at_fault_at_once_the_first_code_on_top(app: ApplicationsApp) -> None:
    with pytest.raises(Invalid) as caught:
        checked_request(app.types["individual_15kw"], 16, {"voltage_kv": 110, "reliability_category": 1})
    assert caught.value.code == "power_exceeds_limit"
    assert [e["field"] for e in caught.value.errors or []] == [
        "power_kw",
        "voltage_kv",
        "reliability_category",
    ]
    assert caught.value.message == "Проверьте заполнение полей."


@pytest.mark.parametrize(
    ("type_code", "given", "expected"),
    [
        # A ≤15 kW household: 0,4 kV, III category, a new connection, nothing connected before.
        (
            "individual_15kw",
            {},
            {
                "voltage_kv": 0.4,
                "reliability_category": 3,
                "connection_kind": "new",
                "previous_power_kw": 0.0,
                "payment_option": "lump_sum",
                "mobile": False,
            },
        ),
        ("legal_150kw", {}, {"voltage_kv": 0.4, "reliability_category": 3}),
        (
            "legal_150kw",
            {"voltage_kv": 10, "reliability_category": 2},
            {"voltage_kv": 10.0, "reliability_category": 2},
        ),
        ("mobile", {}, {"mobile": True, "connection_kind": "new", "reliability_category": 3}),
        (
            "individual_15kw",
            {"payment_option": "instalments", "reduced_rate_category": "large_family"},
            {"payment_option": "instalments", "reduced_rate_category": "large_family"},
        ),
        (
            "individual_15kw",
            {"applicant": {**PERSON, "phone": "8 (912) 345-67-89"}},
            {"applicant": {**PERSON, "phone": "+79123456789"}},
        ),
        (
            "legal_150kw",
            {"applicant": COMPANY, "representative": POA},
            {"applicant": COMPANY, "representative": {**POA, "power_of_attorney_valid_until": None}},
        ),
    ],
)
def test_defaults_where_the_type_has_one_value(
    app: ApplicationsApp, type_code: str, given: dict[str, Any], expected: dict[str, Any]
) -> None:
    power = 1 if type_code != "over_670kw" else 700
    request = checked_request(app.types[type_code], power, given)
    assert {k: request[k] for k in expected} == expected
