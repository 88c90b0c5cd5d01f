"""The process's routes in-process (TestClient on the embedded transport; identity and files
played by their public events): an individual's application from submission to completion,
refusals with codes that record nothing, and 404 for another consumer on every new route."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.applications.main import create_app
from shared.format import today
from shared.settings import Settings
from tests.unit.test_chat_api import SECRET, Party, World

TODAY = today().isoformat()
SLOTS = ("application_form", "site_plan", "title_document", "identity_document")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    settings = Settings(mode="embedded", var_dir=tmp_path, secret_key=SECRET, poll_interval=0.01)
    with TestClient(create_app(settings)) as http:
        yield World(settings, http)


def submit(world: World, anna: Party) -> str:
    scan = world.file(anna, "заявка.pdf")
    body = {
        "type_code": "individual_15kw",
        "power_kw": 10,
        "object_address": "г. Тверь, ул. Садовая, 7",
        "contact": {"phone": "+7 900 123-45-67", "email": "anna@example.ru"},
        "documents": [{"slot": s, "file_id": scan} for s in SLOTS],
    }
    answer = world.http.post("/api/v1/applications", headers=anna.auth, json=body)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def act(world: World, who: Party, app_id: str, what: str, body: dict[str, Any], **headers: str) -> Any:
    return world.http.post(
        f"/api/v1/applications/{app_id}/{what}", headers={**who.auth, **headers}, json=body
    )


def page(world: World, who: Party, app_id: str) -> dict[str, Any]:
    answer = world.http.get(f"/api/v1/applications/{app_id}", headers=who.auth)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def refused(
    world: World, who: Party, app_id: str, what: str, body: dict[str, Any], staff: Party
) -> tuple[int, str]:
    before = page(world, staff, app_id)["version"]
    answer = act(world, who, app_id, what, body)
    assert page(world, staff, app_id)["version"] == before
    return answer.status_code, str(answer.json()["code"])


def test_from_submission_to_completion(world: World) -> None:
    anna, boris, staff = world.account("anna"), world.account("boris"), world.account("staff", staff=True)
    app_id = submit(world, anna)
    contract, tu, act_file = (world.file(staff, n) for n in ("договор.pdf", "ту.pdf", "акт.pdf"))
    mine = world.file(anna, "уведомление.pdf")
    offer = {
        "contract_file_id": contract,
        "technical_conditions_file_id": tu,
        "invoice": {"amount_rub": 550},
        "activities_term": {"months": 4},
        "needs_signature": False,
    }
    assert refused(world, staff, app_id, "offer", offer, staff) == (409, "offer_not_allowed")
    assert act(world, staff, app_id, "transitions", {"to_status": "in_work"}).status_code == 200
    both = {**offer, "activities_term": {"months": 4, "working_days": 10}}
    assert refused(world, staff, app_id, "offer", both, staff) == (422, "validation_error")
    assert refused(world, staff, app_id, "offer", {**offer, "contract_file_id": mine}, staff) == (
        422,
        "file_not_found",
    )
    placed = act(world, staff, app_id, "offer", offer)
    assert placed.status_code == 200, placed.text
    seen = placed.json()
    assert seen["status"] == "contract" and seen["invoice"]["amount_rub"] == 550.0
    assert [d["kind"] for d in seen["company_documents"]] == ["offer_contract", "technical_conditions"]
    for what, body in (
        ("offer", offer),
        ("payments", {"amount_rub": 1, "paid_at": TODAY, "reference": "x"}),
        ("acceptance", {"decision": "accept"}),
        ("notices", {"kind": "tu_fulfilled", "file_ids": [mine]}),
        ("connection", {"connected_at": TODAY, "voltage_applied_at": TODAY}),
        ("company-documents", {"kind": "act_tu", "file_id": act_file}),
    ):
        assert refused(world, boris, app_id, what, body, staff) == (404, "not_found"), what
    assert refused(
        world, staff, app_id, "payments", {"amount_rub": -5, "paid_at": TODAY, "reference": "p"}, staff
    ) == (
        422,
        "validation_error",
    )
    assert refused(
        world, anna, app_id, "payments", {"amount_rub": 5, "paid_at": TODAY, "reference": "p"}, staff
    ) == (
        403,
        "forbidden",
    )
    assert refused(world, anna, app_id, "notices", {"kind": "tu_fulfilled", "file_ids": [mine]}, staff) == (
        409,
        "contract_not_concluded",
    )
    first = act(
        world, staff, app_id, "payments", {"amount_rub": 100.25, "paid_at": TODAY, "reference": "ПП 1"}
    )
    assert first.status_code == 200 and first.json()["invoice"]["paid_rub"] == 100.25
    again = act(
        world, staff, app_id, "payments", {"amount_rub": 100.25, "paid_at": TODAY, "reference": "ПП 1"}
    )
    assert again.json()["version"] == first.json()["version"]
    # A status change with the version the page shows is not refused as "changed meanwhile".
    assert page(world, staff, app_id)["version"] == first.json()["version"]
    rest = act(
        world, staff, app_id, "payments", {"amount_rub": 449.75, "paid_at": TODAY, "reference": "ПП 2"}
    )
    assert rest.json()["status"] == "activities" and rest.json()["deadline"]["due"]
    assert "annulled" not in page(world, anna, app_id)["allowed_transitions"]  # terminated, not withdrawn
    assert "annulled" in page(world, staff, app_id)["allowed_transitions"]
    notice = act(world, anna, app_id, "notices", {"kind": "tu_fulfilled", "file_ids": [mine]})
    assert notice.status_code == 200 and notice.json()["status"] == "tu_check"
    yesterday = (today() - timedelta(days=1)).isoformat()
    assert refused(
        world, staff, app_id, "company-documents", {"kind": "act_tp", "file_id": act_file}, staff
    ) == (
        409,
        "not_connected",
    )
    connected = act(
        world, staff, app_id, "connection", {"connected_at": yesterday, "voltage_applied_at": TODAY}
    )
    assert connected.json()["status"] == "acts"
    keyed = {"Idempotency-Key": "act-tp-0001"}
    closing = act(world, staff, app_id, "company-documents", {"kind": "act_tp", "file_id": act_file}, **keyed)
    assert closing.status_code == 201 and closing.json()["status"] == "completed"
    replay = act(world, staff, app_id, "company-documents", {"kind": "act_tp", "file_id": act_file}, **keyed)
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json()["document_id"] == closing.json()["document_id"]
    reused = act(
        world, staff, app_id, "company-documents", {"kind": "act_meter", "file_id": act_file}, **keyed
    )
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"
    seen = page(world, anna, app_id)
    assert [m["code"] for m in seen["milestones"]] == [
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
    assert [(d["kind"], d["name"]) for d in seen["company_documents"]][-1] == ("act_tp", "акт.pdf")
    assert [p["reference"] for p in seen["invoice"]["payments"]] == ["ПП 1", "ПП 2"]
    statuses = [t["to_status"] for t in seen["timeline"] if t["kind"] == "status"]
    assert statuses == ["submitted", "in_work", "contract", "activities", "tu_check", "acts", "completed"]
