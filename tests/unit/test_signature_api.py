"""The signature's routes in-process (TestClient on the embedded transport; identity and files
played by their public events): the code request answers where the code went and what it signs
(the file's SHA-256 from files.events), a wrong code is refused and counted, the right one
signs and the contract reads «Подписано … ПЭП …»; another consumer gets 404."""

from __future__ import annotations

import uuid

from shared.signature_code import signature_code, signature_key
from tests.unit.test_applications_process_api import act, page, refused, submit, world
from tests.unit.test_chat_api import SECRET, World

__all__ = ["world"]  # the fixture


def test_the_routes_sign_with_the_derived_code(world: World) -> None:
    anna, boris, staff = world.account("anna"), world.account("boris"), world.account("staff", staff=True)
    app_id = submit(world, anna)
    assert act(world, staff, app_id, "transitions", {"to_status": "in_work"}).status_code == 200
    contract, tu = world.file(staff, "договор.pdf"), world.file(staff, "ту.pdf")
    offer = {
        "contract_file_id": contract,
        "technical_conditions_file_id": tu,
        "invoice": {"amount_rub": 900_000},
        "activities_term": {"months": 12},
        "needs_signature": True,
    }
    assert act(world, staff, app_id, "offer", offer).status_code == 200
    assert refused(world, boris, app_id, "acceptance/code", {}, staff) == (404, "not_found")
    assert refused(world, anna, app_id, "acceptance/code", {"extra": 1}, staff) == (422, "validation_error")
    asked = act(world, anna, app_id, "acceptance/code", {})
    assert asked.status_code == 201, asked.text
    issued = asked.json()
    assert issued["sent_to"] == f"{anna.login[0]}***@example.ru"
    assert issued["document"] == {"file_id": contract, "name": "договор.pdf", "sha256": "0" * 64}
    assert issued["expires_at"] and uuid.UUID(issued["challenge_id"])
    assert page(world, anna, app_id)["version"] == page(world, staff, app_id)["version"]
    code = signature_code(signature_key(SECRET), app_id, issued["challenge_id"])
    wrong = act(world, anna, app_id, "acceptance", {"decision": "accept", "code": str(999999 - int(code))})
    assert (wrong.status_code, wrong.json()["code"]) == (422, "signature_code_wrong")
    before = page(world, staff, app_id)["version"]
    assert refused(world, boris, app_id, "acceptance", {"decision": "accept", "code": code}, staff) == (
        404,
        "not_found",
    )
    signed = act(world, anna, app_id, "acceptance", {"decision": "accept", "code": code})
    assert signed.status_code == 200, signed.text
    seen = signed.json()
    assert seen["status"] == "activities" and seen["version"] > before
    document = next(d for d in seen["company_documents"] if d["kind"] == "offer_contract")
    assert document["signature"].startswith("Подписано ПЭП (простой электронной подписью) ")
    assert document["signature"].endswith("(МСК), SHA-256 " + "0" * 64)
    again = {"decision": "accept", "code": code}
    assert refused(world, anna, app_id, "acceptance", again, staff) == (409, "signature_code_used")
