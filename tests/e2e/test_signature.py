"""The simple electronic signature (ПЭП) through the API, one body per mode (issue 12, point
3): a company of 150–670 kW asks for a one-time code, reads it in the e-mail the system sent,
and signs the offer with it; the contract is recorded signed with its file's SHA-256; a wrong
code is refused (and counted), a reused one is refused, a second code at once is refused;
another consumer's application does not exist, staff may not ask for a code."""

from __future__ import annotations

import hashlib

import httpx

from tests.conftest import Person, new_person
from tests.e2e.files_helpers import PDF
from tests.e2e.process_steps import code_by_mail, offer_body, post
from tests.e2e.test_applications import consumer
from tests.e2e.test_process import refused, staff, submitted
from tests.harness import System

__all__ = ["staff"]  # the fixture


def page(http: httpx.Client, auth: dict[str, str], app_id: str) -> dict[str, object]:
    answer = http.get(f"/api/v1/applications/{app_id}", headers=auth)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_a_company_signs_with_the_code_from_the_mail(
    system: System, person: Person, staff: dict[str, str]
) -> None:
    with system.client() as http, system.client() as theirs:
        auth = consumer(system, http, person)
        other = consumer(system, theirs, new_person())
        app_id = submitted(http, auth, type_code="legal_150_670kw", power_kw=300)
        assert post(http, staff, app_id, "transitions", {"to_status": "in_work"}).status_code == 200
        assert refused(http, auth, app_id, "acceptance/code", {}, 409) == "offer_not_placed"
        offer = offer_body(http, staff, True, 480_000)
        assert post(http, staff, app_id, "offer", offer).status_code == 200
        # Nobody but the applicant: another consumer finds nothing, staff may not.
        assert refused(theirs, other, app_id, "acceptance/code", {}, 404, seen_by=staff) == "not_found"
        accept = {"decision": "accept", "code": "123456"}
        assert refused(theirs, other, app_id, "acceptance", accept, 404, seen_by=staff) == "not_found"
        assert refused(http, staff, app_id, "acceptance/code", {}, 403) == "forbidden"
        assert refused(http, auth, app_id, "acceptance", accept, 409) == "signature_code_missing"

        code = code_by_mail(system, http, auth, app_id, person.email)
        again = post(http, auth, app_id, "acceptance/code", {})  # at once: refused, nothing recorded
        assert again.status_code == 429 and again.json()["code"] == "signature_code_too_soon", again.text
        assert int(again.headers["Retry-After"]) > 0
        wrong = "000000" if code != "000000" else "111111"
        before = page(http, auth, app_id)["version"]
        answer = post(http, auth, app_id, "acceptance", {"decision": "accept", "code": wrong})
        assert answer.status_code == 422 and answer.json()["code"] == "signature_code_wrong", answer.text
        assert "Осталось попыток: 4" in answer.json()["message"]
        after = page(http, auth, app_id)
        assert (
            after["status"] == "contract" and after["version"] == int(str(before)) + 1
        )  # the attempt counts

        signed = post(
            http, auth, app_id, "acceptance", {"decision": "accept", "code": f"{code[:3]} {code[3:]}"}
        )
        assert signed.status_code == 200, signed.text
        seen = signed.json()
        assert seen["status"] == "activities" and seen["offer"]["concluded_by"] == "signature"
        contract = next(d for d in seen["company_documents"] if d["kind"] == "offer_contract")
        sha256 = hashlib.sha256(PDF + "Договор ТП.pdf".encode()).hexdigest()
        assert contract["file_id"] == offer["contract_file_id"] and contract["signed_at"]
        assert contract["signature"].startswith("Подписано ПЭП (простой электронной подписью) ")
        assert contract["signature"].endswith(f", SHA-256 {sha256}")
        conditions = next(d for d in seen["company_documents"] if d["kind"] == "technical_conditions")
        assert conditions["signed_at"] is None and conditions["signature"] is None
        reused = {"decision": "accept", "code": code}
        assert refused(http, auth, app_id, "acceptance", reused, 409) == "signature_code_used"
        assert refused(http, auth, app_id, "acceptance/code", {}, 409) == "offer_not_placed"
        assert theirs.get(f"/api/v1/applications/{app_id}", headers=other).status_code == 404
