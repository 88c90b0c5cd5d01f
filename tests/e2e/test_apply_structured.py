"""The structured online application through the pages (issue 13 §3), one body per mode: a
company whose profile is filled in opens «Подача заявки на ТП», finds its requisites
pre-filled, files the application with the object, voltage, category, staging and the
power of attorney of its representative; a wrong ИНН comes back at its field with what was
typed kept; the application page shows the request as filed and the generated form
(DOCX, read back with python-docx). In the browser (desktop and 375 px) the same
application passes axe with the form, with a refusal (the error summary focused) and on
the application page."""

from __future__ import annotations

import io
import re
from typing import Any

import httpx
import pytest
from docx import Document
from playwright.sync_api import Browser, BrowserContext, expect

from tests.conftest import Person
from tests.e2e import a11y
from tests.e2e.files_helpers import PDF, zip_bytes
from tests.e2e.helpers import log_in, register_and_confirm
from tests.e2e.test_applications import page_login
from tests.e2e.test_pages_livable import PHONE, fits_the_phone, logged_in
from tests.e2e.test_profile import PROFILES
from tests.harness import System

COMPANY = {**PROFILES["company"], "postal_address": "170000, г. Тверь, ул. Советская, д. 1"}
TYPE = "legal_150_670kw"
OBJECT = {
    "object_name": "Склад готовой продукции",
    "object_address": "г. Тверь, ул. Складская, д. 3",
    "cadastral_number": "69:40:0100123:45",
    "power_kw": "300",
    "voltage_kv": "10",
    "reliability_category": "2",
    "stage_title_1": "Первая очередь",
    "stage_power_1": "200",
    "stage_date_1": "2027-03-01",
    "supplier": "ПАО «ТНС энерго Тверь»",
    "distance_m": "120",
    "settlement": "urban",
    "representative": "yes",
    "poa_number": "12/2026",
    "poa_issued_on": "2026-02-01",
}


def with_profile(system: System, http: httpx.Client, person: Person) -> dict[str, str]:
    register_and_confirm(system, http, person)
    auth = log_in(http, person.login, person.password)
    saved = http.put("/api/v1/me/profile", headers=auth, json=COMPANY)
    assert saved.status_code == 200, saved.text
    return auth


def value_of(html: str, name: str) -> str:
    found = re.search(rf'<input id="{name}" name="{name}" type="\w+" value="([^"]*)"', html)
    assert found, name
    return found.group(1)


def docx_text(data: bytes) -> str:
    document = Document(io.BytesIO(data))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def test_a_company_files_the_structured_application_through_the_pages(system: System, person: Person) -> None:
    with system.client() as api:
        auth = with_profile(system, api, person)
    with system.client() as http:  # a browser: the login form, the session cookie, the pages
        assert page_login(http, person.login, person.password, f"/apply/{TYPE}/new").status_code == 303
        form = http.get(f"/apply/{TYPE}/new").text
        prefilled = {
            n: value_of(form, n) for n in ("organisation_name", "ogrn", "inn", "kpp", "postal_address")
        }
        assert prefilled == {n: COMPANY[n] for n in prefilled}
        assert value_of(form, "phone") == "+74951234567" and 'id="kind-company" checked' in form
        assert 'id="doc_application_form"' not in form  # generated from the data, not uploaded
        key = re.search(r'name="idempotency_key" value="(\w+)"', form)
        assert key
        fields: dict[str, Any] = {
            "csrf": http.cookies["lk_csrf"],
            "idempotency_key": key.group(1),
            "applicant_kind": "company",
            **{n: value_of(form, n) for n in ("organisation_name", "ogrn", "kpp", "postal_address", "phone")},
            "inn": "7707083894",  # a wrong control digit
            "email": person.email,
            **OBJECT,
        }
        files = {
            "doc_archive": ("Документы.zip", zip_bytes(), "application/zip"),
            "doc_power_of_attorney": ("Доверенность.pdf", PDF, "application/pdf"),
        }
        refused = http.post(f"/apply/{TYPE}/new", data=fields, files=files)
        assert refused.status_code == 303 and refused.headers["location"] == f"/apply/{TYPE}/new"
        again = http.get(refused.headers["location"]).text
        assert re.search(r'<p class="msg" id="inn-msg">ИНН — 10 цифр', again), again[-3000:]
        assert 'aria-describedby="inn-msg inn-hint"' in again and 'href="#inn"' in again
        assert value_of(again, "object_name") == OBJECT["object_name"]  # what was typed is kept
        assert "Уже загружен: Доверенность.pdf" in again  # and the files

        kept = re.findall(r'name="(keep_\w+)" value="([\w-]+)"', again)
        sent = http.post(f"/apply/{TYPE}/new", data={**fields, "inn": COMPANY["inn"], **dict(kept)})
        assert sent.status_code == 303 and "/applications?submitted=" in sent.headers["location"], sent.text
        [listed] = http.get("/api/v1/applications", headers=auth).json()["items"]
        item = http.get(f"/api/v1/applications/{listed['id']}", headers=auth).json()
        filed = item["request"]
        assert (filed["applicant"]["organisation_name"], filed["applicant"]["inn"]) == (
            "ООО «Ромашка»",
            "7707083893",
        )
        assert (filed["voltage_kv"], filed["reliability_category"], filed["connection_kind"]) == (
            10,
            2,
            "new",
        )
        assert filed["stages"] == [{"title": "Первая очередь", "power_kw": 200, "planned_on": "2027-03-01"}]
        assert filed["representative"]["power_of_attorney_number"] == "12/2026"
        assert sorted(d["slot"] for d in item["documents"]) == ["archive", "power_of_attorney"]

        shown = http.get(f"/applications/{item['id']}").text
        assert "<dt>Кадастровый номер</dt><dd>69:40:0100123:45</dd>" in shown
        assert f'<a href="/api/v1/applications/{item["id"]}/form" download>Заявка (DOCX)</a>' in shown
        document = http.get(f"/api/v1/applications/{item['id']}/form")  # the link, with the cookie
        assert document.status_code == 200 and document.content[:2] == b"PK", document.text[:300]
        text = docx_text(document.content)
        for expected in ("Ромашка", "7707083893", "300", "г. Тверь, ул. Складская, д. 3"):
            assert expected in text, expected


@pytest.mark.browser
@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, PHONE], ids=["desktop", "phone"])
def test_the_structured_application_in_the_browser(
    system: System, person: Person, browser: Browser, contexts: list[BrowserContext], viewport: dict[str, int]
) -> None:
    with system.client() as http:
        with_profile(system, http, person)
    page = logged_in(
        browser, contexts, system, person.login, person.password, viewport=viewport, bypass_csp=True
    )
    page.goto(f"{system.base_url}/apply/{TYPE}")
    expect(page.get_by_test_id("type-power")).to_have_text("свыше 150\u00a0кВт и менее 670\u00a0кВт")
    expect(page.get_by_test_id("type-kinds")).to_have_text("ИП, Юридическое лицо")
    page.get_by_role("link", name="Подать заявку на ТП").click()
    expect(page.get_by_label("Наименование организации")).to_have_value("ООО «Ромашка»")
    expect(page.get_by_label("ИНН")).to_have_value("7707083893")
    expect(page.get_by_label("Юридическое лицо")).to_be_checked()
    expect(page.get_by_label("Серия паспорта")).to_be_hidden()  # another kind's fields
    expect(page.get_by_label("Номер доверенности")).to_be_hidden()  # until «представитель» is ticked
    assert not (problems := a11y.violations(page)), a11y.summary(problems)

    page.get_by_label("Наименование объекта").fill("Склад готовой продукции")
    page.get_by_label("Адрес объекта").fill("г. Тверь, ул. Складская, д. 3")
    page.get_by_label("Максимальная мощность").fill("120")  # below the type's lower bound
    page.get_by_label("Уровень напряжения").select_option(label="10\u00a0кВ")
    page.get_by_label("Подаю как представитель по доверенности").check()
    page.get_by_label("Номер доверенности").fill("12/2026")
    page.get_by_label("Дата выдачи доверенности").fill("2026-02-01")
    page.locator("#doc_power_of_attorney").set_input_files(
        {"name": "Доверенность.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    page.get_by_label("Архив документов (ZIP)").set_input_files(
        {"name": "Документы.zip", "mimeType": "application/zip", "buffer": zip_bytes()}
    )
    page.get_by_role("button", name="Отправить заявку на ТП").click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link", name="Максимальная мощность")).to_have_attribute("href", "#power_kw")
    power = page.get_by_label("Максимальная мощность")
    expect(power).to_have_accessible_description(re.compile("свыше 150 кВт"))
    expect(power).to_have_value("120")
    expect(page.get_by_label("Номер доверенности")).to_have_value("12/2026")
    assert not (problems := a11y.violations(page)), a11y.summary(problems)
    if viewport == PHONE:
        fits_the_phone(page)

    summary.get_by_role("link", name="Максимальная мощность").click()
    expect(power).to_be_focused()
    power.fill("300")
    page.get_by_role("button", name="Отправить заявку на ТП").click()
    expect(page).to_have_url(re.compile(r"/applications\?submitted="))
    page.get_by_role("link", name=re.compile(r"ТП-\d{4}-\d{6}")).first.click()
    filed = page.get_by_test_id("request")
    expect(filed).to_contain_text("Юридическое лицо, ООО «Ромашка»")
    expect(filed).to_contain_text("Склад готовой продукции")
    with page.expect_download() as download:
        filed.get_by_role("link", name="Заявка (DOCX)").click()
    path = download.value.path()
    assert path is not None
    with open(path, "rb") as saved:
        assert "Ромашка" in docx_text(saved.read())
    assert not (problems := a11y.violations(page)), a11y.summary(problems)
    if viewport == PHONE:
        fits_the_phone(page)
