"""An estimate's request against its catalog type (services/applications/fees/checks.py), with
the contract's keys (min_power_kw exclusive unless min_power_inclusive, max_power_kw inclusive
unless max_power_exclusive, voltages_kv, categories) and without them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from services.applications.fees.checks import category_of, check_power, reduced_allowed, voltage_of
from shared.errors import Invalid

D = Decimal
HOUSEHOLD = {"code": "individual_15kw", "max_power_kw": 15, "voltages_kv": [0.4], "categories": [3]}
MIDDLE = {"code": "legal_150_670kw", "min_power_kw": 150, "max_power_kw": 670, "max_power_exclusive": True}
TOP = {"code": "over_670kw", "min_power_kw": 670, "min_power_inclusive": True, "max_power_kw": 100000}
UP_TO_150 = {"code": "legal_150kw", "max_power_kw": 150, "categories": [2, 3], "reduced_rate": False}
OLD = {"code": "legal_150kw", "max_power_kw": 150}  # a catalog without the new keys

POWER = [
    (HOUSEHOLD, "15", None),
    (HOUSEHOLD, "15.01", "power_exceeds_limit"),
    (UP_TO_150, "150", None),
    (UP_TO_150, "150.01", "power_exceeds_limit"),
    (MIDDLE, "150", "power_below_minimum"),  # «свыше 150»
    (MIDDLE, "150.01", None),
    (MIDDLE, "669.99", None),
    (MIDDLE, "670", "power_exceeds_limit"),  # «менее 670»: 670 belongs to the top category
    (TOP, "670", None),
    (TOP, "669.99", "power_below_minimum"),
    (OLD, "150", None),
]


@pytest.mark.parametrize(("kind", "power", "code"), POWER, ids=[f"{k['code']}:{p}" for k, p, _ in POWER])
def test_power_bounds(kind: dict[str, Any], power: str, code: str | None) -> None:
    if code is None:
        check_power(kind, D(power))
        return
    with pytest.raises(Invalid) as refused:
        check_power(kind, D(power))
    assert refused.value.errors is not None
    assert [(e["field"], e["code"]) for e in refused.value.errors] == [("power_kw", code)]


def test_voltage_and_category() -> None:
    assert voltage_of(HOUSEHOLD, None) == D("0.4")  # the only one
    assert voltage_of(HOUSEHOLD, D("0.40")) == D("0.40")
    assert voltage_of(OLD, D(10)) == D(10)  # no list: anything the schema takes
    assert voltage_of(OLD, None) == D("0.4")
    with pytest.raises(Invalid) as refused:
        voltage_of(HOUSEHOLD, D(110))
    assert refused.value.errors is not None
    assert refused.value.errors[0]["field"] == "voltage_kv"
    assert refused.value.errors[0]["message"] == "Для этого вида заявки уровень напряжения — 0,4 кВ."
    assert category_of(HOUSEHOLD, None) == 3
    assert category_of(UP_TO_150, None) == 3  # several: III by default
    assert category_of(OLD, 1) == 1
    with pytest.raises(Invalid) as refused:
        category_of(UP_TO_150, 1)
    assert refused.value.errors is not None
    assert (refused.value.errors[0]["field"], refused.value.errors[0]["message"]) == (
        "category",
        "Для этого вида заявки категория надёжности — II, III.",
    )


def test_a_reduced_rate_category_only_where_the_type_allows_it() -> None:
    reduced_allowed(HOUSEHOLD, "veteran", ["individual_15kw"])  # by the reduced rate's types
    reduced_allowed(UP_TO_150, None, ["individual_15kw"])
    for kind in (UP_TO_150, OLD):
        with pytest.raises(Invalid) as refused:
            reduced_allowed(kind, "veteran", ["individual_15kw"])
        assert refused.value.errors is not None
        assert refused.value.errors[0]["field"] == "reduced_rate_category"
