"""The application form generated from the submitted data (issue 13), read back with
python-docx; and what of the request the public event carries (no passport, decision 22)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from services.applications.application_form import Filed, build
from services.applications.public import structured
from tests.unit.test_deadlines_api import text_of

PERSON = {
    "kind": "individual",
    "last_name": "Кузнецова",
    "first_name": "Мария",
    "middle_name": "Сергеевна",
    "inn": "500100732259",
    "passport": {
        "series": "4510",
        "number": "123456",
        "issued_by": "ОВД Тверского р-на",
        "issued_on": "2015-02-01",
    },
    "postal_address": "170100, г. Тверь, ул. Советская, д. 1",
    "phone": "+79123456789",
}
REQUEST = {
    "object_name": "Жилой дом",
    "cadastral_number": "69:40:0100101:15",
    "connection_kind": "increase",
    "previous_power_kw": 5.0,
    "voltage_kv": 0.4,
    "reliability_category": 3,
    "stages": [{"title": "Первая очередь", "power_kw": 12.5, "planned_on": "2027-05-01"}],
    "supplier": "АО «ТверьАтомЭнергоСбыт»",
    "payment_option": "instalments",
    "reduced_rate_category": "large_family",
    "distance_m": 40,
    "settlement": "rural",
    "mobile": False,
    "applicant": PERSON,
    "representative": {
        "power_of_attorney_number": "69 АА 7654321",
        "power_of_attorney_issued_on": "2026-03-01",
        "power_of_attorney_valid_until": "2027-03-01",
    },
}
FILED = Filed(
    number="ТП-2026-000042",
    filed_on=date(2026, 12, 2),
    type_title="Заявка физического лица на присоединение до 15 кВт включительно",
    applicant_name="Иван Представителев",
    applicant_email="ivan@example.ru",
    contact_phone="+7 900 123-45-67",
    power_kw=12.5,
    object_address="Тверская обл., д. Горки, ул. Луговая, д. 3",
    request=REQUEST,
    documents=[
        {"title": "План расположения", "name": "план.pdf"},
        {"title": "Доверенность", "name": "дов.pdf"},
    ],
    paper_signature=False,
    activity_term={"months": 6, "basis": "п. 16", "verified": False, "fallback": False},
    company_name="АО «Региональная сетевая компания»",
)


def test_a_household_by_a_representative() -> None:
    text = text_of(build(FILED))
    for part in (
        "В АО «Региональная сетевая компания»",
        "п. 14 Правил",
        "№ ТП-2026-000042 от 2 декабря 2026 г.",
        "Кузнецова Мария Сергеевна",
        "серия 4510 № 123456, выдан ОВД Тверского р-на, 01.02.2015",
        "500100732259",
        "170100, г. Тверь, ул. Советская, д. 1",
        "Иван Представителев, по доверенности № 69 АА 7654321 от 01.03.2026, действительной до 01.03.2027",
        "Жилой дом",
        "Тверская обл., д. Горки, ул. Луговая, д. 3; кадастровый номер 69:40:0100101:15",
        "увеличение максимальной мощности",
        "12,5",
        "7,5 / 5",  # new / previously connected
        "0,4",
        "III",
        "40 в сельской местности",
        "Первая очередь",
        "01.05.2027",
        "АО «ТверьАтомЭнергоСбыт»",
        "в рассрочку",
        "многодетные семьи",
        "6 месяцев",
        "1. План расположения: план.pdf",
        "2. Доверенность: дов.pdf",
        "подпись на бумаге не требуется",
    ):
        assert part in text, part
    assert "М. П." not in text


def test_a_company_signs_on_paper_where_the_type_wants_it() -> None:
    company = {
        "kind": "company",
        "organisation_name": "ООО «Ромашка»",
        "inn": "7707083893",
        "ogrn": "1027700132195",
        "kpp": "770701001",
    }
    request = {
        **REQUEST,
        "applicant": company,
        "representative": None,
        "stages": [],
        "reduced_rate_category": None,
    }
    text = text_of(
        build(replace(FILED, request=request, power_kw=120, paper_signature=True, activity_term=None))
    )
    for part in ("п. 12(1) Правил", "ООО «Ромашка»", "1027700132195", "7707083893 / 770701001", "М. П."):
        assert part in text, part
    assert "Поэтапное введение в эксплуатацию не предусмотрено." in text
    assert "Паспорт" not in text and "Льготная" not in text


def test_a_form_of_an_application_without_the_structured_fields() -> None:
    text = text_of(build(replace(FILED, request={}, power_kw=300)))
    assert "п. 9 Правил" in text and "Иван Представителев" in text and "300" in text


def test_the_public_event_carries_no_passport_phone_address_or_reduced_rate() -> None:
    public = structured(REQUEST)
    assert public["applicant_inn"] == "500100732259" and public["applicant_kind"] == "individual"
    assert public["by_representative"] is True and public["voltage_kv"] == 0.4
    flat = repr(public)
    for private in ("4510", "123456", "Советская", "+79123456789", "large_family"):
        assert private not in flat
    assert structured({}) == {}
