"""The official forms of issue 13 through the gateway, one body per mode: the new forms (the
closing notice, the applicant's notice of fulfilled ТУ, the refund and payment-clarification
applications, the category contracts) and each application's filled-in sample download as
DOCX and as PDF; the forms page lists them in groups with both links under the heading
«…договоров об осуществлении ТП»; the filled-in form, a company document issued from a form
and the invoice come as PDF too; a PDF of what is no DOCX is refused at the field."""

from __future__ import annotations

import io
from typing import Any

import httpx
from docx import Document

from tests.conftest import new_person
from tests.e2e.process_steps import advance
from tests.e2e.test_applications import consumer
from tests.e2e.test_files import APPLICANT
from tests.e2e.test_issue_forms import DOCX, issue, text_of
from tests.e2e.test_process import staff as staff_fixture
from tests.e2e.test_process import submitted
from tests.harness import System

staff = staff_fixture
PDF_TYPE = "application/pdf"
NEW = {
    "notice_possibility": "act",
    "notice_tu_fulfilled": "statement",
    "refund_application": "statement",
    "payment_clarification": "statement",
    "contract_150kw": "contract",
    "contract_150_670kw": "contract",
    "contract_over_670kw": "contract",
    "contract_temporary": "contract",
    "contract_redistribution": "contract",
}


def is_pdf(answer: httpx.Response) -> bool:
    disposition = answer.headers.get("content-disposition", "")
    return (
        answer.status_code == 200
        and answer.headers["content-type"] == PDF_TYPE
        and answer.content.startswith(b"%PDF-")
        and ".pdf" in disposition
    )


def forms(http: httpx.Client) -> dict[str, dict[str, Any]]:
    return {f["code"]: f for f in http.get("/api/v1/forms").json()["items"]}


def test_the_new_forms_and_the_samples_download_as_docx_and_pdf(system: System) -> None:
    with system.client() as http:
        listed = forms(http)
        for code, kind in NEW.items():
            assert listed[code]["kind"] == kind, code
        notice = listed["notice_possibility"]
        docx = http.get(f"/api/v1/forms/{notice['id']}/file")
        assert docx.status_code == 200 and docx.headers["content-type"] == DOCX
        assert "приложение № 1(1)" in text_of(docx.content)
        pdf = http.get(f"/api/v1/forms/{notice['id']}/file", params={"format": "pdf"})
        assert is_pdf(pdf), pdf.text[:300]
        assert "immutable" in pdf.headers["cache-control"]  # a version never changes
        sample = listed["refund_application_sample"]
        assert sample["sample_of"] == "refund_application" and not sample["fillable"]
        assert Document(io.BytesIO(http.get(f"/api/v1/forms/{sample['id']}/file").content)).paragraphs[
            0
        ].text == ("ОБРАЗЕЦ ЗАПОЛНЕНИЯ")
        assert is_pdf(http.get(f"/api/v1/forms/{sample['id']}/file", params={"format": "pdf"}))
        wrong = http.get(f"/api/v1/forms/{notice['id']}/file", params={"format": "xlsx"})
        assert wrong.status_code == 422, wrong.text

        page = http.get("/forms")
        assert page.status_code == 200
        for title in (
            "Типовые формы заявок на ТП",
            "Заявления и уведомления заявителя",
            "Типовые формы документов по ТП",
            "Типовые формы договоров об осуществлении ТП",
        ):
            assert title in page.text
        assert "оказании услуг" not in page.text
        assert f'href="/api/v1/forms/{notice["id"]}/file?format=pdf"' in page.text
        assert f'href="/api/v1/forms/{sample["id"]}/file?format=pdf"' in page.text
        assert page.text.count("· Образец заполнения:") == 9  # every application and statement
        assert 'data-code="refund_application_sample"' not in page.text  # listed at its form only


def test_the_filled_in_form_the_issued_act_and_the_invoice_as_pdf(
    system: System, staff: dict[str, str]
) -> None:
    with system.client() as http:
        person = consumer(system, http, new_person())
        listed = forms(http)
        form = listed["application_individual_15kw"]
        filled = http.post(f"/api/v1/forms/{form['id']}/fill", params={"format": "pdf"}, json=APPLICANT)
        assert is_pdf(filled), filled.text[:300]
        assert filled.headers["cache-control"] == "no-store"
        # The page «Заполнить заявку»: the second button asks for PDF.
        assert http.get(f"/forms/{form['id']}/fill").status_code == 200
        body = {k: str(v) for k, v in APPLICANT.items()} | {"csrf": http.cookies["lk_csrf"], "format": "pdf"}
        posted = http.post(f"/forms/{form['id']}/fill", data=body, headers={"origin": system.base_url})
        assert is_pdf(posted), posted.text[:300]

        app_id = submitted(http, person)
        values = {"object": "Жилой дом", "max_power_kw": "15", "connection_date": "01.03.2026"}
        made = issue(http, staff, "notice_possibility", {"values": values, "name": "Уведомление"})
        assert made.status_code == 201, made.text
        file_id = made.json()["id"]
        assert is_pdf(http.get(f"/api/v1/files/{file_id}", headers=staff, params={"format": "pdf"}))
        assert (
            http.get(f"/api/v1/files/{file_id}", headers=person, params={"format": "pdf"}).status_code == 404
        )

        advance(http, staff, person, app_id, "contract")
        invoice = http.get(f"/api/v1/applications/{app_id}/invoice", headers=person, params={"format": "pdf"})
        assert is_pdf(invoice), invoice.text[:300]
        contract = http.get(f"/api/v1/applications/{app_id}", headers=person).json()["company_documents"][0]
        not_docx = http.get(f"/api/v1/files/{contract['file_id']}", headers=person, params={"format": "pdf"})
        assert not_docx.status_code == 200 and not_docx.content.startswith(b"%PDF")  # a PDF as it is
