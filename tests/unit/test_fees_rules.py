"""The fee rules (services/applications/fees/rules.py) on a schedule made for the test, every
expected amount computed by hand in the case's comment. VAT 20 % in the test schedule keeps
the arithmetic round (the shipped 2026 data says 22 %)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from services.applications.fees.model import Schedule
from services.applications.fees.rules import Query, estimate, plan

D = Decimal
SCHEDULE: dict[str, Any] = {
    "region": "test",
    "year": 2026,
    "title": "Тестовый регион",
    "vat": {"percent": "20", "basis": "НК РФ", "verified": True},
    "reduced": {
        "type_codes": ["individual_15kw"],
        "max_distance_m": {"urban": 300, "rural": 500},
        "rate_per_kw": "7600.00",
        "basis": "постановление",
        "verified": True,
    },
    "social": {
        "categories": ["low_income", "veteran", "disabled", "large_family"],
        "rate_per_kw": "1064.00",
        "basis": "постановление",
        "verified": True,
    },
    "microgeneration": {
        "type_codes": ["microgeneration_150kw"],
        "rate_per_kw": "5000.00",
        "basis": "постановление",
        "verified": True,
    },
    "standardised": {
        "c1": [
            {"max_power_kw": "15", "rub": "10000.00"},
            {"max_power_kw": "150", "rub": "20000.00"},
            {"max_power_kw": None, "rub": "50000.00"},
        ],
        "lines": [
            {"max_voltage_kv": "1", "overhead_per_km": "1000000.00"},
            {"max_voltage_kv": "20", "overhead_per_km": "2000000.00"},
        ],
        "metering": [
            {"max_voltage_kv": "1", "max_power_kw": "15", "rub": "20000.00"},
            {"max_voltage_kv": "1", "rub": "40000.00"},
            {"max_voltage_kv": "20", "rub": "100000.00"},
        ],
        "basis": "ФАС 490/22",
        "verified": False,
        "note": "пример",
    },
    "instalments": {
        "excluded_within_m": {"urban": 200, "rural": 300},
        "key_rate_percent": "16.00",
        "key_rate_on": "2025-12-22",
        "months": 12,
        "advance_percent": "10",
        "basis": "ПП 861",
        "verified": True,
    },
}
TABLE = Schedule.model_validate(SCHEDULE)


def q(
    kw: str,
    *,
    code: str = "individual_15kw",
    kv: str = "0.4",
    cat: int = 3,
    m: int | None = 100,
    where: str = "urban",
    social: str | None = None,
) -> Query:
    return Query(code, D(kw), D(kv), cat, m, where, social)  # type: ignore[arg-type]


CASES = [
    # id, query, rule, amount with VAT, VAT
    # 15 kW × 7 600 = 114 000,00; standardised: 10 000 + 1 000 000 × 0,1 km + 20 000 = 130 000
    # net, × 1,2 = 156 000 > 114 000 → the reduced rate; VAT inside 114 000 × 20/120 = 19 000
    ("15 kW, 100 m", q("15"), "reduced_rate", "114000.00", "19000.00"),
    # 1 kW × 7 600 = 7 600; standardised (10 000 + 100 000 + 20 000) × 1,2 = 156 000
    ("1 kW", q("1"), "reduced_rate", "7600.00", "1266.67"),
    # 10 m: standardised (10 000 + 10 000 + 20 000) × 1,2 = 48 000 < 15 × 7 600 = 114 000
    ("min: standardised lower", q("15", m=10), "standardised_lower", "48000.00", "8000.00"),
    # 0 m: (10 000 + 20 000) × 1,2 = 36 000 (no line)
    ("min: no line", q("15", m=0), "standardised_lower", "36000.00", "6000.00"),
    # urban 300 m: the reduced rate still applies (≤ 300): 114 000
    ("urban 300 m", q("15", m=300), "reduced_rate", "114000.00", "19000.00"),
    # urban 301 m: standardised: 10 000 + 1 000 000 × 0,301 + 20 000 = 331 000 × 1,2 = 397 200
    ("urban 301 m", q("15", m=301), "standardised", "397200.00", "66200.00"),
    # rural 500 m: reduced (≤ 500): 114 000
    ("rural 500 m", q("15", m=500, where="rural"), "reduced_rate", "114000.00", "19000.00"),
    # rural 501 m: (10 000 + 501 000 + 20 000) × 1,2 = 637 200
    ("rural 501 m", q("15", m=501, where="rural"), "standardised", "637200.00", "106200.00"),
    # 15,01 kW (an individual_150kw case here: not the ≤15 kW rule): С1 20 000 (≤150),
    # line 100 000, С8 40 000 (over 15 kW) = 160 000 × 1,2 = 192 000
    ("15.01 kW", q("15.01", code="individual_150kw"), "standardised", "192000.00", "32000.00"),
    # 15,01 kW of the ≤15 kW type itself is refused by the type's bound (checks), and the rule
    # does not apply above 15 kW either: same standardised 192 000
    ("15.01 kW, household type", q("15.01"), "standardised", "192000.00", "32000.00"),
    # category II: two lines: 10 000 + 2 × 100 000 + 20 000 = 230 000 × 1,2 = 276 000
    ("category II", q("15", cat=2), "standardised", "276000.00", "46000.00"),
    # 10 kV: no reduced rate; line 2 000 000 × 0,1 = 200 000, С8 100 000, С1 10 000 = 310 000 → 372 000
    ("10 kV", q("15", kv="10"), "standardised", "372000.00", "62000.00"),
    # 150 kW at 10 kV, 1 km: 20 000 + 2 000 000 + 100 000 = 2 120 000 × 1,2 = 2 544 000
    ("150 kW", q("150", code="legal_150kw", kv="10", m=1000), "standardised", "2544000.00", "424000.00"),
    # 670 kW: С1 50 000 (over 150) + 2 000 000 + 100 000 = 2 150 000 × 1,2 = 2 580 000
    ("670 kW", q("670", code="over_670kw", kv="10", m=1000), "standardised", "2580000.00", "430000.00"),
    # social: 15 × 1 064 = 15 960; VAT inside 15 960 / 6 = 2 660
    ("social rate", q("15", social="large_family"), "social_rate", "15960.00", "2660.00"),
    # microgeneration 10 kW × 5 000 = 50 000 < 156 000
    ("microgeneration", q("10", code="microgeneration_150kw"), "microgeneration", "50000.00", "8333.33"),
    # microgeneration 20 kW: over 15 kW → standardised: 20 000 + 100 000 + 40 000 = 160 000 → 192 000
    ("microgeneration 20 kW", q("20", code="microgeneration_150kw"), "standardised", "192000.00", "32000.00"),
    # 2,5 kW × 7 600 = 19 000; VAT 19 000 / 6 = 3 166,666… → 3 166,67 (half up)
    ("kopecks", q("2.5"), "reduced_rate", "19000.00", "3166.67"),
    # 0,333 kW × 7 600 = 2 530,80; VAT 421,80
    ("fraction of a kW", q("0.333"), "reduced_rate", "2530.80", "421.80"),
]


@pytest.mark.parametrize(("case", "query", "rule", "amount", "vat"), CASES, ids=[c[0] for c in CASES])
def test_estimate(case: str, query: Query, rule: str, amount: str, vat: str) -> None:
    result = estimate(TABLE, query)
    assert (result.rule, str(result.amount), str(result.vat)) == (rule, amount, vat)
    assert sum(line.amount for line in result.breakdown if line.code != "vat_included") == result.amount


def test_the_min_rule_reports_the_other_side() -> None:
    lower = estimate(TABLE, q("15", m=10))
    assert lower.alternative == ("reduced_rate", D("114000.00"))
    reduced = estimate(TABLE, q("15"))
    assert reduced.alternative == ("standardised", D("156000.00"))
    assert [x.code for x in reduced.breakdown] == ["reduced_rate", "vat_included"]
    assert [x.code for x in lower.breakdown] == ["c1", "c2", "c8", "vat"]


def test_an_unset_social_rate_falls_back_to_the_reduced_rate_and_says_so() -> None:
    data = json.loads(json.dumps(SCHEDULE))
    data["social"]["rate_per_kw"] = None
    result = estimate(Schedule.model_validate(data), q("15", social="disabled"))
    assert (result.rule, str(result.amount)) == ("reduced_rate", "114000.00")
    assert any("не задана" in n for n in result.notes)


def test_rates_without_vat_get_it_added() -> None:
    data = json.loads(json.dumps(SCHEDULE))
    data["reduced"]["includes_vat"] = False
    # 15 × 7 600 = 114 000 net + 20 % = 136 800 < 156 000
    assert str(estimate(Schedule.model_validate(data), q("15")).amount) == "136800.00"


def test_an_unknown_distance_keeps_the_rule_with_a_note_and_leaves_the_line_out() -> None:
    # the standardised cost without its line (36 000) is no cost to compare: 15 × 7 600
    result = estimate(TABLE, q("15", m=None))
    assert (result.rule, str(result.amount)) == ("reduced_rate", "114000.00")
    assert any("не более 300 м" in n for n in result.notes)
    # a larger application: the standardised rates without the line, said so:
    # 20 000 + 40 000 = 60 000 × 1,2 = 72 000
    larger = estimate(TABLE, q("100", code="legal_150kw", m=None))
    assert (larger.rule, str(larger.amount)) == ("standardised", "72000.00")
    assert any("Расстояние до сети не указано" in n for n in larger.notes)


INSTALMENTS = [
    # 0,4 kV within 200 m in a town: none
    ("0.4 kV, 200 m urban", q("15", m=200), False, None),
    # 201 m: allowed. 114 000: advance 10 % = 11 400, balance 102 600, rate 16 + 4 = 20 %,
    # 12 months: interest 102 600 × 0,20 / 12 × 13 / 2 = 1 710 × 6,5 = 11 115,00
    ("0.4 kV, 201 m urban", q("15", m=201), True, "11115.00"),
    # rural 300 m: none; rural 301 m: allowed; the fee is still the reduced 114 000 (≤ 500 m
    # rural), so the interest is the same 11 115,00
    ("0.4 kV, 300 m rural", q("15", m=300, where="rural"), False, None),
    ("0.4 kV, 301 m rural", q("15", m=301, where="rural"), True, "11115.00"),
    # 150 kW: allowed (≤ 150) at 10 kV: amount 2 544 000 (see CASES): advance 254 400,
    # balance 2 289 600 × 0,2 / 12 × 6,5 = 38 160 × 6,5 = 248 040,00
    ("150 kW", q("150", code="legal_150kw", kv="10", m=1000), True, "248040.00"),
    ("150.01 kW", q("150.01", code="legal_150_670kw", kv="10", m=1000), False, None),
]


@pytest.mark.parametrize(
    ("case", "query", "allowed", "interest"), INSTALMENTS, ids=[c[0] for c in INSTALMENTS]
)
def test_instalments(case: str, query: Query, allowed: bool, interest: str | None) -> None:
    result = estimate(TABLE, query)
    assert result.instalments is not None
    assert result.instalments.allowed is allowed
    if interest is not None:
        assert str(result.instalments.interest) == interest
        assert result.instalments.total == result.amount + result.instalments.interest
        assert result.instalments.rate_percent == D("20.00")


def test_no_instalments_where_the_type_offers_none() -> None:
    query = Query("individual_15kw", D(15), D("0.4"), 3, 250, "urban", None, instalments_offered=False)
    assert plan(TABLE, query, D(114000)).allowed is False


def test_the_shipped_tatarstan_2026_schedule() -> None:
    """fees.json: 7 600 ₽/kW with VAT (verified), VAT 22 %: 15 kW → 114 000,00, VAT inside
    114 000 × 22 / 122 = 20 557,377… → 20 557,38."""
    from services.applications.fees.book import FEES_FILE

    seed = json.loads(FEES_FILE.read_text(encoding="utf-8"))
    tatarstan = Schedule.model_validate(next(s for s in seed["schedules"] if s["region"] == "16"))
    assert (tatarstan.year, tatarstan.reduced.rate_per_kw, tatarstan.reduced.verified) == (
        2026,
        D("7600.00"),
        True,
    )
    assert tatarstan.standardised.verified is False  # example rates, said so
    result = estimate(tatarstan, q("15"))
    assert (result.rule, str(result.amount), str(result.vat)) == ("reduced_rate", "114000.00", "20557.38")
