"""The grid-connection process through the API, one body per mode (issue 12): facts drive the
status — the offer, full payment or the signature, the applicant's notice, the connection, the
closing documents — each a dated milestone; the consumer reads the company's documents;
another consumer's application does not exist; bad input is refused and records nothing."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import httpx
import pytest

from shared.format import today
from tests.conftest import Person, new_person
from tests.e2e.files_helpers import PDF, upload_zip
from tests.e2e.helpers import log_in, mails_with
from tests.e2e.process_steps import code_by_mail, file_in, offer_body, post
from tests.e2e.test_applications import TITLES, application_body, consumer
from tests.e2e.test_identity_complete import NEW_PASSWORD, create_staff
from tests.harness import System


@pytest.fixture
def staff(system: System) -> dict[str, str]:
    person = new_person()
    create_staff(system, person.login, person.email)
    with system.client() as http:
        return log_in(http, person.login, NEW_PASSWORD)


def submitted(http: httpx.Client, auth: dict[str, str], **change: Any) -> str:
    docs = [{"slot": "archive", "file_id": upload_zip(http, auth)}]
    answer = http.post("/api/v1/applications", headers=auth, json=application_body(docs, **change))
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def refused(
    http: httpx.Client,
    auth: dict[str, str],
    app_id: str,
    what: str,
    body: dict[str, Any],
    status: int,
    seen_by: dict[str, str] | None = None,
) -> str:
    """A refusal with a stable code, and the application unchanged (as ``seen_by`` sees it)."""
    page = f"/api/v1/applications/{app_id}"
    before = http.get(page, headers=seen_by or auth).json()["version"]
    answer = post(http, auth, app_id, what, body)
    assert answer.status_code == status, answer.text
    assert http.get(page, headers=seen_by or auth).json()["version"] == before
    return str(answer.json()["code"])


def test_an_individual_up_to_15_kw_from_submission_to_completion(
    system: System, person: Person, staff: dict[str, str]
) -> None:
    with system.client() as http, system.client() as theirs:
        auth = consumer(system, http, person)
        other = consumer(system, theirs, new_person())
        app_id = submitted(http, auth)
        offer = offer_body(http, staff, False, 550.0)
        assert refused(http, staff, app_id, "offer", offer, 409) == "offer_not_allowed"  # not complete yet
        assert post(http, staff, app_id, "transitions", {"to_status": "in_work"}).status_code == 200
        assert refused(http, auth, app_id, "offer", offer, 403) == "forbidden"
        mine = file_in(http, auth, "Моё.pdf")
        assert (
            refused(http, staff, app_id, "offer", {**offer, "contract_file_id": mine}, 422)
            == "file_not_found"
        )
        assert refused(http, staff, app_id, "notices", {"kind": "tu_fulfilled", "file_ids": [mine]}, 403)
        placed = post(http, staff, app_id, "offer", offer)
        assert placed.status_code == 200, placed.text
        assert placed.json()["status"] == "contract"
        invoice = placed.json()["invoice"]
        assert (invoice["amount_rub"], invoice["paid_rub"], invoice["paid_at"], invoice["payments"]) == (
            550.0,
            0.0,
            None,
            [],
        )
        assert invoice["due"]  # the applicant pays by then
        # Another consumer: every new endpoint answers 404 and records nothing.
        for what, body in (
            ("offer", offer),
            ("connection", {"connected_at": today().isoformat(), "voltage_applied_at": today().isoformat()}),
            ("payments", {"amount_rub": 1, "paid_at": today().isoformat(), "reference": "x-1"}),
            ("acceptance", {"decision": "accept"}),
            ("notices", {"kind": "tu_fulfilled", "file_ids": [mine]}),
            ("company-documents", {"kind": "act_tu", "file_id": mine}),
        ):
            assert refused(theirs, other, app_id, what, body, 404, seen_by=staff) == "not_found"
        bad_amount = {"amount_rub": 0, "paid_at": today().isoformat(), "reference": "p-0"}
        assert refused(http, staff, app_id, "payments", bad_amount, 422) == "validation_error"
        tomorrow = {
            "amount_rub": 10,
            "paid_at": (today() + timedelta(days=2)).isoformat(),
            "reference": "p-0",
        }
        assert refused(http, staff, app_id, "payments", tomorrow, 422) == "date_in_future"
        notice = {"kind": "tu_fulfilled", "file_ids": [mine]}
        assert refused(http, auth, app_id, "notices", notice, 409) == "contract_not_concluded"

        partial = {"amount_rub": 200.5, "paid_at": today().isoformat(), "reference": "ПП-1"}
        seen = post(http, staff, app_id, "payments", partial).json()
        assert (seen["status"], seen["invoice"]["paid_rub"]) == ("contract", 200.5)
        again = post(http, staff, app_id, "payments", partial)  # the same reference: nothing new
        assert again.status_code == 200 and again.json()["version"] == seen["version"]
        rest = {"amount_rub": 349.5, "paid_at": today().isoformat(), "reference": "ПП-2"}
        seen = post(http, staff, app_id, "payments", rest).json()
        assert (seen["status"], seen["invoice"]["paid_rub"], seen["invoice"]["paid_at"]) == (
            "activities",
            550.0,
            today().isoformat(),
        )
        assert (
            refused(http, auth, app_id, "transitions", {"to_status": "annulled"}, 409) == "contract_concluded"
        )
        assert refused(http, staff, app_id, "company-documents", {"kind": "act_tp", "file_id": mine}, 409)
        assert refused(http, staff, app_id, "company-documents", {"kind": "нет", "file_id": mine}, 422) == (
            "unknown_document_kind"
        )

        seen = post(http, auth, app_id, "notices", notice).json()
        assert seen["status"] == "tu_check"
        connection = {"connected_at": today().isoformat(), "voltage_applied_at": today().isoformat()}
        assert post(http, staff, app_id, "connection", connection).json()["status"] == "acts"
        act = file_in(http, staff, "Акт об осуществлении ТП.pdf")
        keyed = {**staff, "Idempotency-Key": f"act-{app_id}"}
        first = post(http, keyed, app_id, "company-documents", {"kind": "act_tp", "file_id": act})
        assert first.status_code == 201, first.text
        repeat = post(http, keyed, app_id, "company-documents", {"kind": "act_tp", "file_id": act})
        assert repeat.status_code == 201 and repeat.headers.get("Idempotent-Replayed") == "true"
        assert repeat.json()["document_id"] == first.json()["document_id"]
        seen = http.get(f"/api/v1/applications/{app_id}", headers=auth).json()
        assert seen["status"] == "completed"
        codes = [m["code"] for m in seen["milestones"]]
        assert codes == [
            "received",
            "complete",
            "offer_placed",
            "contract_concluded",
            "tu_notice_received",
            "tu_checked",
            "connected",
            "voltage_applied",
            "closing_documents_placed",
        ]
        assert all(m["title"] and m["at"] for m in seen["milestones"])
        kinds = [(d["kind"], d["name"]) for d in seen["company_documents"]]
        assert kinds == [
            ("offer_contract", "Договор ТП.pdf"),
            ("technical_conditions", "Технические условия.pdf"),
            ("act_tp", "Акт об осуществлении ТП.pdf"),
        ]
        assert theirs.get(f"/api/v1/applications/{app_id}", headers=other).status_code == 404
    # One e-mail per step: a status change, or the fact that moved the status and tells it
    # (the offer, the closing document: tests/e2e/test_process_mail.py counts them all).
    for step in ("in_work", "activities", "tu_check", "acts", "completed"):
        assert len(mails_with(system, person.email, TITLES[step])) == 1, step
    assert len(mails_with(system, person.email, "договор, технические условия и счёт размещены")) == 1
    assert mails_with(system, person.email, f": {TITLES['contract']}", count=0) == []


def test_a_company_of_150_to_670_kw_signs_the_offer(
    system: System, person: Person, staff: dict[str, str]
) -> None:
    with system.client() as http:
        auth = consumer(system, http, person)
        app_id = submitted(http, auth, type_code="legal_150_670kw", power_kw=300)
        assert post(http, staff, app_id, "transitions", {"to_status": "in_work"}).status_code == 200
        placed = post(http, staff, app_id, "offer", offer_body(http, staff, True, 1_250_000.75))
        assert placed.status_code == 200, placed.text
        assert placed.json()["offer"]["needs_signature"] is True
        assert refused(http, auth, app_id, "acceptance", {"decision": "reject", "comment": " "}, 422) == (
            "reason_required"
        )
        assert refused(http, staff, app_id, "acceptance", {"decision": "accept"}, 403) == "forbidden"
        paid = {"amount_rub": 1_250_000.75, "paid_at": today().isoformat(), "reference": "ПП-77"}
        assert (
            post(http, staff, app_id, "payments", paid).json()["status"] == "contract"
        )  # a signature is due
        code = code_by_mail(system, http, auth, app_id, person.email)
        signed = post(http, auth, app_id, "acceptance", {"decision": "accept", "code": code, "comment": ""})
        assert signed.status_code == 200, signed.text
        seen = signed.json()
        assert seen["status"] == "activities" and seen["offer"]["concluded_by"] == "signature"
        contract = next(d for d in seen["company_documents"] if d["kind"] == "offer_contract")
        assert contract["signed_at"] and contract["signature"].startswith(
            "Подписано ПЭП (простой электронной подписью)"
        )
        assert "contract_concluded" in [m["code"] for m in seen["milestones"]]
        assert refused(http, auth, app_id, "acceptance", {"decision": "accept"}, 409) == "offer_not_placed"
        reused = {"decision": "accept", "code": code}
        assert refused(http, auth, app_id, "acceptance", reused, 409) == "signature_code_used"


def test_the_consumer_reads_the_company_documents(
    system: System, person: Person, staff: dict[str, str]
) -> None:
    with system.client() as http, system.client() as theirs:
        auth = consumer(system, http, person)
        other = consumer(system, theirs, new_person())
        app_id = submitted(http, auth)
        assert post(http, staff, app_id, "transitions", {"to_status": "in_work"}).status_code == 200
        offer = offer_body(http, staff, False, 550.0)
        assert post(http, staff, app_id, "offer", offer).status_code == 200
        act = file_in(http, staff, "Акт о выполнении ТУ.pdf")
        assert (
            post(http, staff, app_id, "company-documents", {"kind": "act_tu", "file_id": act}).status_code
            == 201
        )
        for file_id, name in (
            (offer["contract_file_id"], "Договор ТП.pdf"),
            (act, "Акт о выполнении ТУ.pdf"),
        ):
            deadline = time.monotonic() + 10  # the grant follows the event
            while (got := http.get(f"/api/v1/files/{file_id}", headers=auth)).status_code != 200:
                assert time.monotonic() < deadline, got.text
                time.sleep(0.2)
            assert got.content == PDF + name.encode()
            assert theirs.get(f"/api/v1/files/{file_id}", headers=other).status_code == 404
