"""``POST /api/v1/payments/import`` in-process (TestClient on the embedded transport, identity
and files played by their public events): staff only, the service's own 2 MB body limit, the
content type, and a statement recorded once through the one use case."""

from __future__ import annotations

from shared.format import today
from tests.unit.test_applications_process_api import act, page, submit, world
from tests.unit.test_chat_api import World

__all__ = ["world"]  # the fixture, used by name

DAY = f"{today():%d.%m.%Y}"
HEADER = "Дата;Сумма;Назначение платежа;Номер документа;Плательщик"


def test_staff_import_once_a_consumer_is_refused_and_the_body_is_bounded(world: World) -> None:
    anna, staff = world.account("anna"), world.account("staff", staff=True)
    app_id = submit(world, anna)
    assert act(world, staff, app_id, "transitions", {"to_status": "in_work"}).status_code == 200
    files = {n: world.file(staff, f"{n}.pdf") for n in ("contract", "tu")}
    offer = {
        "contract_file_id": files["contract"],
        "technical_conditions_file_id": files["tu"],
        "invoice": {"amount_rub": 550},
        "activities_term": {"months": 4},
    }
    assert act(world, staff, app_id, "offer", offer).status_code == 200
    number = page(world, staff, app_id)["number"]
    data = "\n".join((HEADER, f"{DAY};550,00;Оплата по заявке № {number};9;Анна")).encode("cp1251")

    def post(who_auth: dict[str, str], body: bytes, kind: str = "text/csv") -> tuple[int, dict[str, object]]:
        answer = world.http.post(
            "/api/v1/payments/import", headers={**who_auth, "Content-Type": kind}, content=body
        )
        return answer.status_code, dict(answer.json())

    assert post(anna.auth, data)[0] == 403
    assert post(staff.auth, data, "application/json") == (
        415,
        {"code": "statement_type", "message": "Выписка принимается как файл CSV (text/csv)."},
    )
    status, body = post(staff.auth, data + b"\n" + b";" * (2 * 1024 * 1024))
    assert (status, body["code"]) == (413, "payload_too_large")
    assert page(world, staff, app_id)["status"] == "contract"
    status, report = post(staff.auth, data)
    assert (status, report["recorded"], report["duplicates"]) == (200, 1, 0)
    seen = page(world, anna, app_id)
    assert (seen["status"], seen["invoice"]["paid_rub"]) == ("activities", 550.0)
    assert post(staff.auth, data)[1]["duplicates"] == 1
