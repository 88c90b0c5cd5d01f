"""Moving an application through the process by its facts, for end-to-end tests (issue 12):
the plain transitions endpoint keeps only what needs no fact, so a test that needs an
application at a stage records the facts that enter it — the completeness check, the offer,
the full payment, the applicant's notice, the connection, the closing document."""

from __future__ import annotations

import re
from typing import Any

import httpx

from shared.format import today
from tests.e2e.files_helpers import PDF, upload
from tests.e2e.helpers import mails_with
from tests.harness import System

STAGES = ("in_work", "contract", "activities", "tu_check", "acts", "completed")
AMOUNT = 550.0  # the invoice of the offer :func:`step` places


def post(
    http: httpx.Client, auth: dict[str, str], app_id: str, what: str, body: dict[str, Any]
) -> httpx.Response:
    return http.post(f"/api/v1/applications/{app_id}/{what}", headers=auth, json=body)


def file_in(http: httpx.Client, auth: dict[str, str], name: str) -> str:
    return upload(http, auth, name, PDF + name.encode(), "application/pdf")


def offer_body(http: httpx.Client, staff: dict[str, str], signature: bool, amount: float) -> dict[str, Any]:
    return {
        "contract_file_id": file_in(http, staff, "Договор ТП.pdf"),
        "technical_conditions_file_id": file_in(http, staff, "Технические условия.pdf"),
        "invoice": {"amount_rub": amount},
        "activities_term": {"months": 4},
        "needs_signature": signature,
    }


def step(
    http: httpx.Client,
    staff: dict[str, str],
    applicant: dict[str, str],
    app_id: str,
    to: str,
    comment: str = "",
) -> httpx.Response:
    """The one fact that enters ``to`` from the stage before it (an offer that needs no
    signature, paid in full at once; the act of ТП as the closing document)."""
    if to == "in_work":
        return post(http, staff, app_id, "transitions", {"to_status": "in_work", "comment": comment})
    if to == "contract":
        return post(http, staff, app_id, "offer", offer_body(http, staff, False, AMOUNT))
    if to == "activities":
        paid = {"amount_rub": AMOUNT, "paid_at": today().isoformat(), "reference": f"ПП-{app_id[:8]}"}
        return post(http, staff, app_id, "payments", paid)
    if to == "tu_check":
        notice = [file_in(http, applicant, "Уведомление о выполнении ТУ.pdf")]
        return post(http, applicant, app_id, "notices", {"kind": "tu_fulfilled", "file_ids": notice})
    if to == "acts":
        day = today().isoformat()
        return post(http, staff, app_id, "connection", {"connected_at": day, "voltage_applied_at": day})
    if to == "completed":
        act = file_in(http, staff, "Акт об осуществлении ТП.pdf")
        return post(http, staff, app_id, "company-documents", {"kind": "act_tp", "file_id": act})
    raise ValueError(f"no fact enters {to!r}")


def advance(
    http: httpx.Client, staff: dict[str, str], applicant: dict[str, str], app_id: str, to: str
) -> dict[str, Any]:
    """From «Подана» (or any earlier stage) up to ``to``, each fact answered; the last answer."""
    current = http.get(f"/api/v1/applications/{app_id}", headers=staff).json()["status"]
    start = 0 if current in ("submitted", "needs_documents") else STAGES.index(current) + 1
    answer: dict[str, Any] = {}
    for stage in STAGES[start : STAGES.index(to) + 1]:
        got = step(http, staff, applicant, app_id, stage)
        assert got.status_code in (200, 201), got.text
        answer = dict(got.json())
        assert answer["status"] == stage, answer
    return answer


CODE = re.compile(r"Код для подписания договора по заявке \S+: (\d{6})\.")


def code_by_mail(system: System, http: httpx.Client, auth: dict[str, str], app_id: str, email: str) -> str:
    """The applicant asks for the one-time signature code; the code the e-mail brought."""
    asked = post(http, auth, app_id, "acceptance/code", {})
    assert asked.status_code == 201, asked.text
    number = http.get(f"/api/v1/applications/{app_id}", headers=auth).json()["number"]
    mails = mails_with(system, email, f"Код подписания договора по заявке {number}")
    assert len(mails) == 1, [m.subject for m in mails]
    found = CODE.search(mails[0].text)
    assert found, mails[0].text
    return found.group(1)
