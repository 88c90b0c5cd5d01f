"""The structured application (issue 13), one body per mode: a company files through a
representative with the fields of п. 12(1) of the Rules; the detail shows the request and the
activities' term that applies; the application form generated from it (DOCX, read back with
python-docx, and PDF) for the applicant and staff, 404 for another consumer; a wrong ИНН and a
voltage the type does not allow are refused with the field named, and take no number; the
public event carries the registry numbers, never the passport."""

from __future__ import annotations

import shutil
import uuid
from typing import Any

import pytest

from shared.events import ApplicationSubmittedV1
from tests.conftest import Person, new_person
from tests.e2e.files_helpers import upload_pdf
from tests.e2e.helpers import read_events
from tests.e2e.test_applications import consumer, staff
from tests.e2e.test_files import docx_text
from tests.harness import System

__all__ = ["staff"]

COMPANY = {
    "kind": "company",
    "organisation_name": "ООО «Ромашка»",
    "inn": "7707083893",
    "ogrn": "1027700132195",
    "kpp": "773601001",
    "postal_address": "125009, г. Москва, ул. Тверская, д. 7",
}
SLOTS = ("site_plan", "title_document", "register_extract", "power_of_attorney")


def body(http: Any, auth: dict[str, str], **change: Any) -> dict[str, Any]:
    return {
        "type_code": "legal_150kw",
        "power_kw": 120,
        "object_address": "Московская обл., г. Химки, ул. Заводская, д. 5",
        "contact": {"phone": "+7 495 123-45-67", "email": "office@romashka.example.ru"},
        "documents": [{"slot": s, "file_id": upload_pdf(http, auth, f"{s}.pdf")} for s in SLOTS],
        "object_name": "Склад готовой продукции",
        "cadastral_number": "50:10:0010101:123",
        "connection_kind": "increase",
        "previous_power_kw": 40,
        "voltage_kv": 10,
        "reliability_category": 2,
        "stages": [{"title": "Первая очередь", "power_kw": 120, "planned_on": "2027-09-01"}],
        "supplier": "ПАО «Мосэнергосбыт»",
        "payment_option": "instalments",
        "distance_m": 250,
        "settlement": "urban",
        "applicant": COMPANY,
        "representative": {
            "power_of_attorney_number": "Д-17/2026",
            "power_of_attorney_issued_on": "2026-02-10",
        },
        **change,
    }


def test_a_company_files_a_structured_application_and_gets_its_form(
    system: System, person: Person, staff: dict[str, str]
) -> None:
    with system.client() as http:
        auth = consumer(system, http, person)
        refused = http.post(
            "/api/v1/applications",
            headers=auth,
            json=body(http, auth, applicant={**COMPANY, "inn": "7707083894"}),
        )
        assert refused.status_code == 422, refused.text
        assert [(e["field"], e["code"]) for e in refused.json()["errors"]] == [
            ("applicant.inn", "inn_invalid")
        ]
        refused = http.post(
            "/api/v1/applications",
            headers=auth,
            json=body(http, auth, voltage_kv=110, reliability_category=1),
        )
        assert refused.status_code == 422 and refused.json()["code"] == "voltage_not_allowed"
        fields = {e["field"] for e in refused.json()["errors"]}
        assert fields == {"voltage_kv", "reliability_category"}
        without_poa = body(http, auth)
        without_poa["documents"] = [d for d in without_poa["documents"] if d["slot"] != "power_of_attorney"]
        refused = http.post("/api/v1/applications", headers=auth, json=without_poa)
        assert refused.status_code == 422 and "Доверенность" in refused.json()["message"]

        filed = http.post("/api/v1/applications", headers=auth, json=body(http, auth))
        assert filed.status_code == 201, filed.text
        app_id, number = filed.json()["id"], filed.json()["number"]

        detail = http.get(f"/api/v1/applications/{app_id}", headers=auth).json()
        request = detail["request"]
        assert request["applicant"]["organisation_name"] == "ООО «Ромашка»"
        assert (request["voltage_kv"], request["reliability_category"], request["previous_power_kw"]) == (
            10,
            2,
            40,
        )
        assert request["representative"]["power_of_attorney_number"] == "Д-17/2026"
        # ≤20 kV within 300 m in a town: 6 months (п. 16, to be checked against the current text).
        assert detail["activity_term"]["months"] == 6 and detail["activity_term"]["verified"] is False
        seen_by_staff = http.get(f"/api/v1/applications/{app_id}", headers=staff).json()
        assert seen_by_staff["request"]["representative"] == request["representative"]

        form = http.get(f"/api/v1/applications/{app_id}/form", headers=auth)
        assert form.status_code == 200, form.text
        assert form.headers["content-type"].startswith("application/vnd.openxmlformats")
        text = docx_text(form.content)
        for part in (
            "ООО «Ромашка»",
            "7707083893",
            "1027700132195",
            "120",
            "Московская обл., г. Химки, ул. Заводская, д. 5",
            "50:10:0010101:123",
            "ПАО «Мосэнергосбыт»",
            "по доверенности № Д-17/2026",
            number,
            "п. 12(1)",
        ):
            assert part in text, part
        assert http.get(f"/api/v1/applications/{app_id}/form", headers=staff).status_code == 200

        other = consumer(system, http, new_person())
        assert http.get(f"/api/v1/applications/{app_id}/form", headers=other).status_code == 404
        assert http.get(f"/api/v1/applications/{uuid.uuid4()}/form", headers=auth).status_code == 404
        with system.client() as anonymous:
            assert anonymous.get(f"/api/v1/applications/{app_id}/form").status_code == 401

        if shutil.which("soffice") is None:
            pytest.skip("LibreOffice (soffice) is not installed")
        pdf = http.get(
            f"/api/v1/applications/{app_id}/form", params={"format": "pdf"}, headers=auth, timeout=120
        )
        assert pdf.status_code == 200, pdf.text
        assert pdf.content.startswith(b"%PDF") and pdf.headers["content-type"] == "application/pdf"

    published = [e.parse() for e in read_events(system, "applications", app_id, expect=1)]
    event = published[0]
    assert isinstance(event, ApplicationSubmittedV1)
    assert (event.applicant_inn, event.applicant_ogrn, event.voltage_kv, event.by_representative) == (
        "7707083893",
        "1027700132195",
        10,
        True,
    )
    assert "125009" not in event.model_dump_json()  # the postal address stays in the application


def test_a_household_files_with_the_old_body_and_gets_the_defaults(system: System, person: Person) -> None:
    with system.client() as http:
        auth = consumer(system, http, person)
        docs = [
            {"slot": s, "file_id": upload_pdf(http, auth)}
            for s in ("site_plan", "title_document", "identity_document")
        ]
        filed = http.post(
            "/api/v1/applications",
            headers=auth,
            json={
                "type_code": "individual_15kw",
                "power_kw": 15,
                "object_address": "Тверская обл., г. Тверь, ул. Садовая, д. 7",
                "contact": {"phone": "+7 (900) 123-45-67", "email": "contact@example.ru"},
                "documents": docs,  # no signed form: the type needs no paper signature
            },
        )
        assert filed.status_code == 201, filed.text
        detail = http.get(f"/api/v1/applications/{filed.json()['id']}", headers=auth).json()
        assert detail["request"]["voltage_kv"] == 0.4 and detail["request"]["reliability_category"] == 3
        assert detail["request"]["connection_kind"] == "new" and detail["request"]["applicant"] is None
        assert detail["activity_term"]["months"] == 12  # the distance not given: no shorter term confirmed
        form = http.get(f"/api/v1/applications/{filed.json()['id']}/form", headers=auth)
        assert form.status_code == 200 and "п. 9 Правил" in docx_text(form.content)
