"""Which term of the activities applies (issue 13): the catalog's rules by voltage, distance
(town / countryside), power and a mobile object, the first that holds; the type's
deadlines.activities as the fallback; none for a type without activities."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.applications.activity_terms import activity_term, term_text
from services.applications.catalog import seed_types
from services.applications.type_keys import with_keys

TYPES = {code: with_keys(data) for code, data in seed_types().items()}


def ask(
    voltage: float, distance: int | None, settlement: str | None = "urban", mobile: bool = False
) -> dict[str, Any]:
    return {"voltage_kv": voltage, "distance_m": distance, "settlement": settlement, "mobile": mobile}


@pytest.mark.parametrize(
    ("type_code", "power", "request_", "term"),
    [
        ("individual_15kw", 10, ask(0.4, 15), {"working_days": 30}),  # п. 16: ≤0,4 кВ, ≤15 м
        ("individual_15kw", 10, ask(0.4, 16), {"months": 6}),
        ("individual_15kw", 10, ask(0.4, 300), {"months": 6}),  # ≤300 м in a town
        ("individual_15kw", 10, ask(0.4, 301), {"months": 12}),
        ("individual_15kw", 10, ask(0.4, 500, "rural"), {"months": 6}),  # ≤500 м in the countryside
        ("individual_15kw", 10, ask(0.4, 501, "rural"), {"months": 12}),
        ("individual_15kw", 10, ask(0.4, 400, None), {"months": 12}),  # no settlement: the town's 300 м
        ("individual_15kw", 10, ask(0.4, None), {"months": 12}),  # distance unknown: not confirmed
        ("legal_150kw", 100, ask(10, 10), {"months": 6}),  # 10 кВ: not the 0,4 кВ rule
        ("legal_150kw", 100, ask(20, 200), {"months": 6}),
        ("temporary", 150, ask(0.4, 300, mobile=True), {"working_days": 15}),  # a mobile object ≤150 кВт
        ("temporary", 150, ask(0.4, 301, mobile=True), {"months": 12}),
        ("temporary", 151, ask(0.4, 10, mobile=True), {"working_days": 30}),  # over 150 кВт: not temporary's
        ("temporary", 100, ask(0.4, 100), {"months": 6}),  # not mobile: not the 15 days
        ("mobile", 100, ask(0.4, 250, mobile=True), {"working_days": 15}),
        ("over_670kw", 1000, ask(10, None), {"months": 12}),
        ("over_670kw", 1000, ask(110, None), {"months": 24}),
    ],
)
def test_the_first_rule_that_holds(
    type_code: str, power: float, request_: dict[str, Any], term: dict[str, int]
) -> None:
    found = activity_term(TYPES[type_code], request_, power)
    assert found is not None and not found["fallback"]
    assert {k: found[k] for k in ("working_days", "months") if k in found} == term
    assert found["basis"].startswith("п. 16 Правил ТП")


def test_only_the_quoted_rule_is_marked_verified() -> None:
    flags = {
        (r.get("working_days"), r.get("months"), r["verified"])
        for r in TYPES["individual_15kw"]["activity_terms"]
    }
    assert flags == {(30, None, True), (None, 6, False), (None, 12, False)}


def test_power_conditions_and_the_fallback() -> None:
    kind = {
        "activity_terms": [
            {
                "min_power_kw_exclusive": 150,
                "max_power_kw": 670,
                "months": 6,
                "basis": "a",
                "verified": False,
            },
        ],
        "deadlines": {"activities": {"months": 4}},
    }
    assert activity_term(kind, {}, 150.5)["months"] == 6  # type: ignore[index]
    assert activity_term(kind, {}, 670)["months"] == 6  # type: ignore[index]
    assert activity_term(kind, {}, 150) == {
        "months": 4,
        "basis": "Срок вида заявки по умолчанию (данные сетевой организации)",
        "verified": False,
        "fallback": True,
    }
    assert activity_term(kind, {}, 671)["fallback"] is True  # type: ignore[index]
    assert activity_term(TYPES["reissue"], ask(0.4, 10), 10) is None  # no activities at all


def test_the_rules_are_plain_data() -> None:
    assert (
        json.loads(json.dumps(TYPES["temporary"]["activity_terms"])) == TYPES["temporary"]["activity_terms"]
    )


@pytest.mark.parametrize(
    ("term", "text"),
    [
        ({"working_days": 30}, "30 рабочих дней"),
        ({"working_days": 21}, "21 рабочий день"),
        ({"working_days": 15}, "15 рабочих дней"),
        ({"working_days": 2}, "2 рабочих дня"),
        ({"months": 1}, "1 месяц"),
        ({"months": 6}, "6 месяцев"),
        ({"months": 24}, "24 месяца"),
        ({"months": 12}, "12 месяцев"),
        (None, ""),
    ],
)
def test_term_text(term: dict[str, int] | None, text: str) -> None:
    assert term_text(term) == text
