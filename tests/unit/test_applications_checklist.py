"""The checklist of a submission follows its request (issue 13): the signed form only where the
type wants a paper signature, the single-line diagram from 35 kV, the power of attorney when a
representative files, the reduced rate's proof when one is claimed; the request recorded."""

from __future__ import annotations

from typing import Any

import pytest

from services.applications.app import ApplicationsApp
from services.applications.rules import Submission, checked_submission
from shared.errors import Invalid
from tests.unit.test_applications_request import APPLICANT, COMPANY, POA, app

__all__ = ["app"]


def submission(type_code: str, power: float, slots: list[str], request: dict[str, Any]) -> Submission:
    docs = [{"slot": s, "file_id": f"f-{s}", "name": f"{s}.pdf"} for s in slots]
    owned = {d["file_id"]: "application/pdf" for d in docs}
    return Submission(type_code=type_code, power_kw=power, documents=docs, owned=owned, request=request)


BASE_670 = ["site_plan", "emergency_automatics", "title_document", "register_extract"]


@pytest.mark.parametrize(
    ("type_code", "power", "slots", "request_", "missing"),
    [
        (
            "individual_15kw",
            10,
            ["site_plan", "title_document", "identity_document"],
            {},
            None,
        ),  # no paper form
        ("over_670kw", 1000, [*BASE_670], {}, "Заполненная и подписанная заявка"),  # paper_signature
        ("legal_150_670kw", 300, BASE_670, {"voltage_kv": 20}, None),
        ("legal_150_670kw", 300, BASE_670, {"voltage_kv": 35}, "Однолинейная схема"),  # from 35 kV
        ("legal_150_670kw", 300, [*BASE_670, "single_line"], {"voltage_kv": 35}, None),
        (
            "individual_15kw",
            10,
            ["site_plan", "title_document", "identity_document"],
            {"representative": POA},
            "Доверенность",
        ),
        (
            "individual_15kw",
            10,
            ["site_plan", "title_document", "identity_document", "power_of_attorney"],
            {"representative": POA},
            None,
        ),
        (
            "individual_15kw",
            10,
            ["site_plan", "title_document", "identity_document"],
            {"reduced_rate_category": "disabled"},
            "льготную ставку",
        ),
    ],
)
def test_the_checklist_follows_the_request(
    app: ApplicationsApp,
    type_code: str,
    power: float,
    slots: list[str],
    request_: dict[str, Any],
    missing: str | None,
) -> None:
    form = submission(type_code, power, slots, request_)
    if missing is None:
        assert checked_submission(APPLICANT, app.types[type_code], form)[0]["code"] == type_code
        return
    with pytest.raises(Invalid) as caught:
        checked_submission(APPLICANT, app.types[type_code], form)
    assert caught.value.code == "documents_missing" and missing in caught.value.message


def test_the_request_is_recorded_on_the_application(app: ApplicationsApp) -> None:
    form = submission(
        "legal_150kw", 120, ["archive"], {"applicant": COMPANY, "voltage_kv": 10, "object_name": "Склад"}
    )
    form = Submission(**{**form.__dict__, "owned": {"f-archive": "application/zip"}})
    claim, _ = app.submit(APPLICANT, "ТП-2026-900001", form)
    stored = app.find(claim.id, type(claim))
    assert stored is not None and stored.request["applicant"] == COMPANY
    assert (stored.request["voltage_kv"], stored.request["reliability_category"]) == (10.0, 3)
    assert stored.request["object_name"] == "Склад"
