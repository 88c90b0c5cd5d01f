"""Company documents made from the standard forms, one body per mode (issue 12): staff fill an
act with the application's data, the result is their own DOCX file, they place it on the
application and the applicant downloads it; a repeat with the same key makes nothing; unknown
fields, hostile values and consumers are refused."""

from __future__ import annotations

import io
from typing import Any

import httpx
from docx import Document

from tests.conftest import new_person
from tests.e2e.test_applications import consumer
from tests.e2e.test_process import staff as staff_fixture
from tests.e2e.test_process import submitted
from tests.harness import System

staff = staff_fixture  # a staff member, logged in
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def form_id(http: httpx.Client, code: str) -> str:
    items = http.get("/api/v1/forms").json()["items"]
    return str(next(f["id"] for f in items if f["code"] == code))


def issue(
    http: httpx.Client, auth: dict[str, str], code: str, body: dict[str, Any], key: str = ""
) -> httpx.Response:
    headers = {**auth, **({"Idempotency-Key": key} if key else {})}
    return http.post(f"/api/v1/forms/{form_id(http, code)}/issue", headers=headers, json=body)


def text_of(data: bytes) -> str:
    document = Document(io.BytesIO(data))
    cells = [c.text for t in document.tables for r in t.rows for c in r.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def test_staff_issue_an_act_and_the_applicant_downloads_it(system: System, staff: dict[str, str]) -> None:
    with system.client() as http:
        person = consumer(system, http, new_person())
        app_id = submitted(http, person)
        item = http.get(f"/api/v1/applications/{app_id}", headers=staff).json()
        key = f"act-{app_id}"
        values = {
            "object": f"Жилой дом, {item['object_address']}",
            "max_power_kw": "15",
            "voltage_category": "0,4 кВ; III категория",
        }
        made = issue(
            http, staff, "act_tu", {"values": values, "name": f"Акт о выполнении ТУ {item['number']}"}, key
        )
        assert made.status_code == 201, made.text
        file = made.json()
        assert file["name"] == f"Акт о выполнении ТУ {item['number']}.docx"
        assert file["content_type"] == DOCX
        again = issue(http, staff, "act_tu", {"values": values}, key)
        assert again.status_code == 201 and again.json()["id"] == file["id"]
        assert again.headers.get("idempotent-replayed") == "true"

        body = {"kind": "act_tu", "file_id": file["id"]}
        placed = http.post(
            f"/api/v1/applications/{app_id}/company-documents",
            headers={**staff, "Idempotency-Key": f"place-{key}"},
            json=body,
        )
        assert placed.status_code in (200, 201), placed.text
        seen = http.get(f"/api/v1/applications/{app_id}", headers=person).json()
        [doc] = [d for d in seen["company_documents"] if d["kind"] == "act_tu"]
        download = http.get(f"/api/v1/files/{doc['file_id']}", headers=person)
        assert download.status_code == 200
        text = text_of(download.content)
        assert values["object"] in text and "0,4 кВ; III категория" in text


def test_issue_refuses_bad_input_and_consumers(system: System, staff: dict[str, str]) -> None:
    with system.client() as http:
        person = consumer(system, http, new_person())
        refusals: list[tuple[dict[str, str], dict[str, Any], int, str | None]] = [
            (staff, {"values": {"no_such_field": "1"}}, 422, "unknown_form_field"),
            (staff, {"values": {"object": "Дом\x00"}}, 422, None),
            (staff, {"values": {"object": "x" * 1001}}, 422, None),
            (staff, {"values": {"../x": "1"}}, 422, None),
            (staff, {"values": {}, "name": "../../etc/passwd"}, 422, None),
            (staff, {"values": "строка"}, 422, None),
            (person, {"values": {"object": "Дом"}}, 403, None),
        ]
        for auth, body, status, code in refusals:
            answer = issue(http, auth, "act_tu", body)
            assert answer.status_code == status, (body, answer.text)
            if code:
                assert answer.json()["code"] == code
                assert "В этой форме нет полей" in answer.json()["message"]
        broken = http.post(
            f"/api/v1/forms/{form_id(http, 'act_tu')}/issue",
            headers={**staff, "content-type": "application/json"},
            content=b"{not json",
        )
        assert broken.status_code == 400 and broken.json()["code"] == "malformed_json"
        files = http.get("/api/v1/files", headers=staff).json()["items"]
        assert not [f for f in files if f["name"].startswith("Акт о выполнении технических условий")]
