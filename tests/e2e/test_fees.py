"""Fees through the gateway, one body per mode: a guest's estimate (no session, no cookie),
the schedules read by anyone and edited by admins only, and bad input refused with the field
named in Russian."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.conftest import new_person
from tests.e2e.helpers import log_in
from tests.e2e.test_identity_complete import NEW_PASSWORD, create_staff
from tests.harness import System

ESTIMATE = "/api/v1/fees/estimate"


def body(**change: Any) -> dict[str, Any]:
    return {
        "type_code": "individual_15kw",
        "power_kw": 15,
        "voltage_kv": 0.4,
        "category": 3,
        "distance_m": 120,
        "settlement": "urban",
        "region": "16",
        **change,
    }


def test_a_guest_estimates_a_household_up_to_15_kw(system: System) -> None:
    """Tatarstan 2026 (fees.json): 15 kW × 7 600 ₽ = 114 000,00 ₽ with VAT 22 % inside:
    114 000 × 22 / 122 = 20 557,38."""
    answer = httpx.post(system.base_url + ESTIMATE, json=body())  # no cookie, no token
    assert answer.status_code == 200, answer.text
    out = answer.json()
    assert (out["amount_rub"], out["vat_rub"], out["rule"]) == ("114000.00", "20557.38", "reduced_rate")
    assert "328-191/тп-2025" in out["source"]
    assert out["breakdown"][0]["amount_rub"] == "114000.00"
    assert out["region_title"] == "Республика Татарстан"
    assert answer.headers["cache-control"] == "no-store"
    # The region may be left out: the service's default (LK_REGION, Tatarstan)
    plain = {k: v for k, v in body().items() if k != "region"}
    assert httpx.post(system.base_url + ESTIMATE, json=plain).json()["amount_rub"] == "114000.00"


def test_the_public_estimate_reads_no_session_and_sets_no_cookie(system: System) -> None:
    """Public without a CSRF token because it changes nothing and answers the same to anyone:
    a session cookie sent along (with no CSRF header) is neither needed nor refused."""
    answer = httpx.post(
        system.base_url + ESTIMATE,
        json=body(),
        cookies={"lk_session": "not-a-token"},
        headers={"origin": "https://evil.example"},
    )
    assert answer.status_code == 200, answer.text
    assert "set-cookie" not in answer.headers
    assert "access-control-allow-origin" not in answer.headers  # no other site reads it
    # The other writes under /fees still need a session (an admin's)
    assert httpx.put(system.base_url + "/api/v1/fees/16/2026", json={}).status_code == 401


def test_larger_applications_are_estimated_at_the_standardised_rates(system: System) -> None:
    answer = httpx.post(
        system.base_url + ESTIMATE,
        json=body(type_code="legal_150kw", power_kw=100, voltage_kv=0.4, distance_m=250),
    )
    assert answer.status_code == 200, answer.text
    out = answer.json()
    assert out["rule"] == "standardised"
    assert out["verified"] is False  # the shipped С1…С8 are example figures, and say so
    assert any(note.startswith("Не проверено") for note in out["notes"])
    codes = [line["code"] for line in out["breakdown"]]
    assert codes[0] == "c1" and codes[-1] == "vat"
    assert sum(float(line["amount_rub"]) for line in out["breakdown"]) == pytest.approx(
        float(out["amount_rub"])
    )


BAD = [
    ({"region": "99"}, 422, "region", "unknown_region"),
    ({"type_code": "nope"}, 422, "type_code", "unknown_type"),
    ({"power_kw": 15.01}, 422, "power_kw", "power_exceeds_limit"),
    ({"power_kw": 0}, 422, "power_kw", "greater_than"),
    ({"power_kw": "много"}, 422, "power_kw", "decimal_parsing"),
    ({"settlement": "city"}, 422, "settlement", "literal_error"),
    ({"distance_m": -1}, 422, "distance_m", "greater_than_equal"),
    ({"category": 4}, 422, "category", "less_than_equal"),
    ({"reduced_rate_category": "vip"}, 422, "reduced_rate_category", "literal_error"),
    (
        {"type_code": "legal_150kw", "power_kw": 100, "reduced_rate_category": "veteran"},
        422,
        "reduced_rate_category",
        "reduced_rate_not_allowed",
    ),
]


@pytest.mark.parametrize(("change", "status", "field", "code"), BAD, ids=[b[2] + ":" + b[3] for b in BAD])
def test_bad_input_names_its_field_in_russian(
    system: System, change: dict[str, Any], status: int, field: str, code: str
) -> None:
    answer = httpx.post(system.base_url + ESTIMATE, json=body(**change))
    assert answer.status_code == status, answer.text
    errors = answer.json()["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [(field, code)]
    assert any("а" <= ch <= "я" for ch in errors[0]["message"].lower())


def test_the_schedules_are_read_by_anyone_and_edited_by_admins(system: System) -> None:
    boss, clerk = new_person(), new_person()
    create_staff(system, boss.login, boss.email, admin=True)
    create_staff(system, clerk.login, clerk.email)
    with system.client() as http:
        listing = http.get("/api/v1/fees").json()
        assert {"region": "16", "year": 2026, "title": "Республика Татарстан"} in listing["items"]
        tatarstan = http.get("/api/v1/fees/16/2026").json()
        assert tatarstan["reduced"]["rate_per_kw"] == "7600.00"
        assert http.get("/api/v1/fees/16/1999").status_code == 422  # below the years taken
        assert http.get("/api/v1/fees/16/2001").status_code == 404
        region = "t" + uuid.uuid4().hex[:12]
        schedule = {k: v for k, v in tatarstan.items() if k not in ("region", "year")}
        schedule = {**schedule, "title": "Регион из теста"}
        schedule["reduced"] = {**schedule["reduced"], "rate_per_kw": "5000.00"}
        path = f"/api/v1/fees/{region}/2026"
        assert httpx.put(system.base_url + path, json=schedule).status_code == 401
        staff = log_in(http, clerk.login, NEW_PASSWORD)
        assert http.put(path, headers=staff, json=schedule).status_code == 403
        admin = log_in(http, boss.login, NEW_PASSWORD)
        bad = {**schedule, "vat": {**schedule["vat"], "percent": "-1"}}
        assert http.put(path, headers=admin, json=bad).status_code == 422
        saved = http.put(path, headers=admin, json=schedule)
        assert saved.status_code == 200, saved.text
        # 15 kW × 5 000 = 75 000,00 in the new region
        out = http.post(ESTIMATE, json=body(region=region)).json()
        assert (out["amount_rub"], out["region_title"]) == ("75000.00", "Регион из теста")
