"""The deadlines of the grid-connection process and the invoice through the API, one body per
mode (issue 12): after each fact the application's page gives the running deadline with its duty
holder and due date in the company's local calendar (Europe/Moscow by default) on the production
calendar; the invoice downloads as DOCX for the applicant and staff, with the payment QR code
that parses back to the amount in kopecks, and does not exist for anyone else or before the
offer. The services' clock is the real one here: the due dates are counted from today's local
date (the moved clock and the New Year anchors are in tests/unit/test_deadlines_api.py)."""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import httpx
import pytest
import zxingcpp
from docx import Document

from services.applications.calendar import WorkCalendar
from services.applications.invoice import parse_payload
from shared.format import today
from tests.conftest import Person, new_person
from tests.e2e.helpers import log_in
from tests.e2e.process_steps import offer_body, post
from tests.e2e.test_applications import consumer
from tests.e2e.test_identity_complete import NEW_PASSWORD, create_staff
from tests.e2e.test_process import submitted
from tests.harness import System
from tests.unit.test_invoice import _png_pixels

CALENDAR = WorkCalendar()
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def local_today() -> date:
    return datetime.now(ZoneInfo("Europe/Moscow")).date()


@pytest.fixture
def staff(system: System) -> dict[str, str]:
    person = new_person()
    create_staff(system, person.login, person.email)
    with system.client() as http:
        return log_in(http, person.login, NEW_PASSWORD)


def page(http: httpx.Client, auth: dict[str, str], app_id: str) -> dict[str, Any]:
    answer = http.get(f"/api/v1/applications/{app_id}", headers=auth)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def running(seen: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(code, duty, due) of each deadline; every one carries the full shape."""
    for d in seen["deadlines"]:
        assert set(d) >= {"code", "title", "due", "duty", "working_days_left", "overdue", "beyond_calendar"}
        assert d["title"] and d["overdue"] is False
        assert d["working_days_left"] == CALENDAR.working_days_between(
            local_today(), date.fromisoformat(d["due"])
        )
        assert d["beyond_calendar"] is CALENDAR.beyond_data(date.fromisoformat(d["due"]))
    return [(d["code"], d["duty"], d["due"]) for d in seen["deadlines"]]


def in_days(count: int) -> str:
    return CALENDAR.add_working_days(local_today(), count).isoformat()


def moved_term() -> int:
    """A number of months from today that ends on a non-working day (ГК РФ ст. 193 moves it)."""
    today = local_today()
    return next(n for n in range(1, 25) if not CALENDAR.is_working_day(CALENDAR.add_months(today, n)))


def qr_payloads(docx: bytes) -> list[str]:
    document = Document(io.BytesIO(docx))
    images = [part for part in document.part.package.parts if part.content_type == "image/png"]
    formats = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    return [
        code.bytes.decode("utf-8")
        for image in images
        for code in zxingcpp.read_barcodes(_png_pixels(image.blob), formats=formats)
    ]


def test_deadlines_follow_the_facts_and_the_invoice_downloads(
    system: System, person: Person, staff: dict[str, str]
) -> None:
    with system.client() as http, system.client() as theirs:
        auth = consumer(system, http, person)
        other = consumer(system, theirs, new_person())
        app_id = submitted(http, auth)
        invoice_path = f"/api/v1/applications/{app_id}/invoice"
        assert running(page(http, auth, app_id)) == [("completeness_check", "grid_company", in_days(3))]
        early = http.get(invoice_path, headers=auth)
        assert (early.status_code, early.json()["code"]) == (404, "no_invoice")
        assert post(http, staff, app_id, "transitions", {"to_status": "in_work"}).status_code == 200
        assert running(page(http, auth, app_id)) == [("offer", "grid_company", in_days(10))]

        months = moved_term()
        offer = {**offer_body(http, staff, False, 1234.56), "activities_term": {"months": months}}
        placed = post(http, staff, app_id, "offer", offer)
        assert placed.status_code == 200, placed.text
        assert running(placed.json()) == [("payment", "applicant", in_days(5))]  # pays by …
        seen = page(http, auth, app_id)
        assert seen["invoice"]["due"] == in_days(5) == seen["deadline"]["due"]
        assert seen["offer"]["state_buyer"] is False

        for who in (auth, staff):
            got = http.get(invoice_path, headers=who)
            assert got.status_code == 200, got.text
            assert got.headers["content-type"] == DOCX
            name = unquote(got.headers["content-disposition"].split("filename*=UTF-8''")[1])
            assert name == f"Счёт № {seen['number']}.docx"
            (payload,) = qr_payloads(got.content)
            fields = parse_payload(payload)
            assert fields.sum_kopecks == 123456 and seen["number"] in fields.purpose
        refused = theirs.get(invoice_path, headers=other)
        assert (refused.status_code, refused.json()["code"]) == (404, "not_found")

        paid_on = today().isoformat()  # the services' "not after today"
        paid = post(
            http, staff, app_id, "payments", {"amount_rub": 1234.56, "paid_at": paid_on, "reference": "ПП-1"}
        )
        assert paid.json()["status"] == "activities", paid.text
        raw = CALENDAR.add_months(local_today(), months)
        due = CALENDAR.next_working_day(raw)
        assert due > raw  # the term's last day is a day off: it ends on the next working day
        assert running(page(http, auth, app_id)) == [("activities", "grid_company", due.isoformat())]
        assert page(http, auth, app_id)["invoice"]["due"] == in_days(5)  # the invoice keeps its date


def test_a_state_buyer_has_15_working_days_and_an_annulled_application_none(
    system: System, person: Person, staff: dict[str, str]
) -> None:
    with system.client() as http:
        auth = consumer(system, http, person)
        app_id = submitted(http, auth, type_code="legal_150kw", power_kw=120)
        assert post(http, staff, app_id, "transitions", {"to_status": "in_work"}).status_code == 200
        offer = {**offer_body(http, staff, False, 90_000.0), "state_buyer": True}
        placed = post(http, staff, app_id, "offer", offer)
        assert placed.status_code == 200, placed.text
        seen = page(http, staff, app_id)
        assert running(seen) == [("payment", "applicant", in_days(15))]
        assert seen["offer"]["state_buyer"] is True
        assert seen["invoice"]["due"] == seen["deadline"]["due"] == in_days(15)
        annul = {"to_status": "annulled", "comment": "Счёт не оплачен"}
        assert post(http, staff, app_id, "transitions", annul).status_code == 200
        assert page(http, auth, app_id)["deadlines"] == []
        assert http.get(f"/api/v1/applications/{app_id}/invoice", headers=auth).status_code == 200
