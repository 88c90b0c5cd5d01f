"""The catalog in words (services/gateway/pages/catalog_words.py) and the application as
filed on its page (services/gateway/pages/request_view.py), the expected Russian written
out by hand; the pages behind the fake services of test_gateway_apply_pages.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.gateway.pages.catalog_words import (
    activity_terms,
    categories_text,
    kinds_text,
    power_text,
    term_text,
    voltages_text,
)
from tests.unit.apply_fake import Backend, fake_gateway


@pytest.fixture
def backend() -> Backend:
    return Backend()


@pytest.fixture
def gateway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: Backend) -> Iterator[TestClient]:
    yield from fake_gateway(tmp_path, monkeypatch, backend)


NB = "\u00a0"


@pytest.mark.parametrize(
    ("bounds", "words"),
    [
        ({"min_power_kw": None, "max_power_kw": 15}, f"до 15{NB}кВт включительно"),
        ({"min_power_kw": 15, "max_power_kw": 150}, f"свыше 15{NB}кВт и до 150{NB}кВт включительно"),
        (
            {"min_power_kw": 150, "max_power_kw": 670, "max_power_exclusive": True},
            f"свыше 150{NB}кВт и менее 670{NB}кВт",
        ),
        ({"min_power_kw": 670, "min_power_inclusive": True, "max_power_kw": 100000}, f"670{NB}кВт и более"),
        ({"min_power_kw": None, "max_power_kw": 100000}, "без ограничения мощности"),
        ({"min_power_kw": 0.5, "max_power_kw": None}, f"свыше 0,5{NB}кВт"),
    ],
)
def test_power_bounds_read_as_the_rules_say(bounds: dict[str, Any], words: str) -> None:
    assert power_text(bounds) == words


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ({"working_days": 30}, "30 рабочих дней"),
        ({"working_days": 15}, "15 рабочих дней"),
        ({"working_days": 21}, "21 рабочий день"),
        ({"working_days": 3}, "3 рабочих дня"),
        ({"months": 6}, "6 месяцев"),
        ({"months": 4}, "4 месяца"),
        ({"months": 12}, "1 год"),
        ({"months": 24}, "2 года"),
    ],
)
def test_terms_in_words(rule: dict[str, Any], words: str) -> None:
    assert term_text(rule) == words


def test_the_terms_by_voltage_and_distance() -> None:
    kind = {
        "activity_terms": [
            {
                "max_voltage_kv": 0.4,
                "max_distance_m": {"urban": 15, "rural": 15},
                "working_days": 30,
                "basis": "п. 16",
            },
            {
                "mobile": True,
                "max_power_kw": 150,
                "max_distance_m": {"urban": 300, "rural": 300},
                "working_days": 15,
            },
            {
                "max_voltage_kv": 20,
                "max_distance_m": {"urban": 300, "rural": 500},
                "months": 6,
                "verified": False,
            },
            {"max_voltage_kv": None, "max_distance_m": None, "months": 12},
        ]
    }
    assert [(r["term"], r["conditions"], r["verified"]) for r in activity_terms(kind)] == [
        ("30 рабочих дней", f"напряжение до 0,4{NB}кВ, расстояние до сетей не более 15{NB}м", True),
        (
            "15 рабочих дней",
            f"передвижные объекты, мощность до 150{NB}кВт включительно, расстояние до сетей не более 300{NB}м",
            True,
        ),
        (
            "6 месяцев",
            f"напряжение до 20{NB}кВ, расстояние до сетей не более 300{NB}м в городе и 500{NB}м в сельской местности",
            False,
        ),
        ("1 год", "в остальных случаях", True),
    ]


def test_kinds_voltages_and_categories() -> None:
    kind = {"applicant_kinds": ["sole_trader", "company"], "voltages_kv": [0.4, 6, 10], "categories": [2, 3]}
    assert (kinds_text(kind), voltages_text(kind), categories_text(kind)) == (
        "ИП, Юридическое лицо",
        f"0,4{NB}кВ, 6{NB}кВ, 10{NB}кВ",
        "II или III",
    )
    assert categories_text({"categories": [1, 2, 3]}) == "I, II или III"
    assert categories_text({"categories": [3]}) == "III"
    assert (kinds_text({}), voltages_text({}), categories_text({})) == ("", "", "")  # an old catalog


def test_the_catalog_and_a_type_page_say_who_and_what(gateway: TestClient) -> None:
    listed = gateway.get("/apply").text
    assert f'<dd data-testid="type-power">свыше 150{NB}кВт и менее 670{NB}кВт</dd>' in listed
    assert '<dd data-testid="type-kinds">Физическое лицо</dd>' in listed
    page = gateway.get("/apply/legal_150_670kw").text
    assert '<dd data-testid="type-kinds">ИП, Юридическое лицо</dd>' in page
    assert f'<dd data-testid="type-voltages">0,4{NB}кВ, 6{NB}кВ, 10{NB}кВ, 20{NB}кВ, 35{NB}кВ</dd>' in page
    assert '<dd data-testid="type-categories">I, II или III</dd>' in page
    assert f"<strong>30 рабочих дней</strong> — напряжение до 0,4{NB}кВ" in page
    assert "<strong>1 год</strong> — в остальных случаях" in page and "срок уточняется" in page
    assert "Однолинейная схема (обязательно при напряжении 35 кВ и выше)" in page
    assert "Заявка (подписанная)" not in page  # no paper signature for this type
    assert "Подать заявку на ТП" in page


APP = "7d3c1a52-0000-4000-8000-0000000000aa"
REQUEST = {
    "object_name": "Склад",
    "cadastral_number": "69:40:0100123:45",
    "connection_kind": "increase",
    "previous_power_kw": 100,
    "voltage_kv": 10,
    "reliability_category": 2,
    "stages": [{"title": "Первая очередь", "power_kw": 200, "planned_on": "2026-09-01"}],
    "supplier": "ПАО «ТНС энерго Тверь»",
    "payment_option": "lump_sum",
    "reduced_rate_category": None,
    "distance_m": 120,
    "settlement": "urban",
    "applicant": {
        "kind": "company",
        "organisation_name": "ООО «Ромашка»",
        "inn": "7707083893",
        "ogrn": "1027700132195",
        "kpp": "773601001",
        "last_name": "",
        "first_name": "",
        "middle_name": "",
        "passport": None,
        "postal_address": "170000, г. Тверь, ул. Советская, д. 1",
        "phone": "+74951234567",
    },
    "representative": {
        "power_of_attorney_number": "12/2026",
        "power_of_attorney_issued_on": "2026-02-01",
        "power_of_attorney_valid_until": "2026-12-31",
    },
}


def filed_item() -> dict[str, Any]:
    return {
        "id": APP,
        "number": "ТП-2026-000077",
        "type_code": "legal_150_670kw",
        "type_title": "Заявка юридического лица",
        "status": "submitted",
        "status_title": "Подана",
        "power_kw": 300.5,
        "object_address": "г. Тверь, ул. Складская, д. 3",
        "applicant_name": "Анна Петрова",
        "version": 1,
        "deadline": None,
        "contact": {"phone": "", "email": ""},
        "comment": "",
        "timeline": [],
        "documents": [
            {"slot": "power_of_attorney", "slot_title": "Доверенность", "file_id": "p1", "name": "Дов.pdf"}
        ],
        "allowed_transitions": [],
        "request": REQUEST,
        "activity_term": {"max_voltage_kv": 20, "months": 6, "basis": "п. 16 Правил ТП"},
    }


@pytest.mark.parametrize("role", ["consumer", "staff"])
def test_the_application_page_shows_the_request_as_filed(
    gateway: TestClient, backend: Backend, role: str
) -> None:
    backend.item = filed_item()
    backend.user = {**backend.user, "roles": [role]}
    html = gateway.get(f"/applications/{APP}").text
    for term, value in [
        ("Заявитель", "Юридическое лицо, ООО «Ромашка»"),
        ("ОГРН", "1027700132195"),
        ("Кадастровый номер", "69:40:0100123:45"),
        ("Вид присоединения", "Увеличение максимальной мощности"),
        ("Максимальная мощность", f"300,5{NB}кВт"),
        ("Ранее присоединённая мощность", f"100,0{NB}кВт"),
        ("Уровень напряжения", f"10{NB}кВ"),
        ("Категория надёжности", "II категория"),
        ("Этапы", f"Первая очередь, 200,0{NB}кВт, до 01.09.2026"),
        ("Порядок оплаты", "Единовременно"),
        ("Расстояние до сетей", "120 м, в городе (посёлке городского типа)"),
    ]:
        assert f"<dt>{term}</dt><dd>{value}</dd>" in html, term
    assert f"6 месяцев (напряжение до 20{NB}кВ; п. 16 Правил ТП)" in html
    assert f'<a href="/api/v1/applications/{APP}/form" download>Заявка (DOCX)</a>' in html
    assert f'<a href="/api/v1/applications/{APP}/form?format=pdf" download>PDF</a>' in html
    staff_only = "<dt>Доверенность</dt><dd>№ 12/2026 от 01.02.2026, действует до 31.12.2026</dd>"
    assert (staff_only in html) == (role == "staff")
    representative = html.split('data-testid="representative"')[1:]
    assert [('<a href="/api/v1/files/p1">Дов.pdf</a>' in r.split("</dl>")[0]) for r in representative] == (
        [True] if role == "staff" else []
    )


def test_an_application_without_a_request_shows_no_form_links(gateway: TestClient, backend: Backend) -> None:
    backend.item = {k: v for k, v in filed_item().items() if k not in ("request", "activity_term")}
    html = gateway.get(f"/applications/{APP}").text
    assert 'data-testid="request"' not in html and '/form"' not in html
