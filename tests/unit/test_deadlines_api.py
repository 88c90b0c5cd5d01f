"""The deadlines on the application's page and the invoice, in-process (TestClient on the
embedded transport) with a moved clock: the process's facts are played as applications' public
events dated where the test needs them (the New Year holidays 2026→2027), the service's clock is
set on its state, and the answers are read through the API."""

from __future__ import annotations

import io
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from docx import Document
from fastapi.testclient import TestClient

from services.applications.main import create_app
from services.applications.state import ApplicationsState
from shared.events import ApplicationSubmittedV1, DocumentRef, PublicEvent, StatusChangedV1
from shared.process_events import ContractConcludedV1, OfferPlacedV1
from shared.settings import Settings
from tests.unit.test_chat_api import SECRET, Party, World

MEDIA = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def moscow(day: str, hour: int = 12) -> datetime:
    """A moment of ``day`` at ``hour`` o'clock Moscow time (UTC+3)."""
    return datetime.fromisoformat(f"{day}T{hour - 3:02d}:00:00+00:00")


@dataclass
class Claim:
    """One application played through its public events."""

    world: World
    applicant: Party
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    version: int = 0
    status: str = "submitted"

    def emit(self, payload: PublicEvent, at: datetime) -> None:
        self.version += 1
        self.world.positions["applications"] = self.world.positions.get("applications", 0) + 1
        envelope = payload.envelope(
            source="applications",
            subject=self.id,
            sequence=self.version,
            position=self.world.positions["applications"],
            time=at,
        )
        topic = self.world.settings.topic("applications")
        with sqlite3.connect(self.world.settings.var_dir / "bus.sqlite", timeout=30) as conn:
            conn.execute(
                "INSERT INTO messages (topic, offs, key, value) VALUES (?, (SELECT COALESCE(MAX(offs), -1) + 1"
                " FROM messages WHERE topic = ?), ?, ?)",
                (topic, topic, self.id, envelope.to_bytes()),
            )

    @property
    def who(self) -> dict[str, Any]:
        return {
            "application_id": self.id,
            "number": f"ТП-2026-{self.id[:6]}",
            "applicant_id": self.applicant.account_id,
        }

    def submitted(self, at: datetime, type_code: str = "individual_15kw", power_kw: float = 10) -> Claim:
        self.emit(
            ApplicationSubmittedV1(
                **self.who,
                applicant_email="anna@example.ru",
                applicant_name="Иванова Анна",
                type_code=type_code,
                type_title="Заявка",
                power_kw=power_kw,
                object_address="г. Тверь, ул. Садовая, 7",
                documents=[DocumentRef(slot="archive", file_id=str(uuid.uuid4()))],
            ),
            at,
        )
        return self

    def moved(self, to_status: str, at: datetime) -> Claim:
        change = StatusChangedV1(
            **self.who,
            applicant_email="anna@example.ru",
            from_status=self.status,
            to_status=to_status,
            to_title=to_status,
            comment="",
            actor_id="staff",
            actor_role="staff",
        )
        self.status = to_status
        self.emit(change, at)
        return self

    def offered(self, at: datetime, *, state_buyer: bool = False, signature: bool = False) -> Claim:
        self.emit(
            OfferPlacedV1(
                **self.who,
                applicant_email="anna@example.ru",
                documents=[],
                amount_kopecks=5_500_050,
                activities_months=4,
                needs_signature=signature,
                state_buyer=state_buyer,
                actor_id="staff",
            ),
            at,
        )
        return self.moved("contract", at)

    def concluded(self, on: str, at: datetime) -> Claim:
        payload = ContractConcludedV1(
            **self.who, applicant_email="anna@example.ru", by="payment", concluded_on=on, actor_id="staff"
        )
        self.emit(payload, at)
        return self.moved("activities", at)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    settings = Settings(mode="embedded", var_dir=tmp_path, secret_key=SECRET, poll_interval=0.01)
    with TestClient(create_app(settings)) as http:
        yield World(settings, http)


def state_of(world: World) -> ApplicationsState:
    found = world.http.app.state.service  # type: ignore[attr-defined]
    assert isinstance(found, ApplicationsState)
    return found


def set_clock(world: World, at: datetime) -> None:
    state_of(world).app.clock = lambda: at


def page(world: World, who: Party, claim: Claim) -> dict[str, Any]:
    """The application's page once the views have applied every event played."""
    assert world.http.portal is not None
    assert world.http.portal.call(state_of(world).caught_up, claim.id, claim.version)
    answer = world.http.get(f"/api/v1/applications/{claim.id}", headers=who.auth)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def brief(deadlines: list[dict[str, Any]]) -> list[tuple[str, str, str, int, bool]]:
    return [(d["code"], d["duty"], d["due"], d["working_days_left"], d["overdue"]) for d in deadlines]


def text_of(docx: bytes) -> str:
    document = Document(io.BytesIO(docx))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join([*(p.text for p in document.paragraphs), *cells])


def test_payment_due_across_the_new_year_holidays(world: World) -> None:
    """An offer placed on 29.12.2026 on a ≤15 kW application: 5 working days to pay, and
    31.12 to 10.01 are days off, so the due day is 14.01.2027; the invoice says the same."""
    anna, staff = world.account("anna"), world.account("staff", staff=True)
    claim = Claim(world, anna).submitted(moscow("2026-12-10")).moved("in_work", moscow("2026-12-11"))
    set_clock(world, moscow("2026-12-14"))
    seen = page(world, anna, claim)
    assert brief(seen["deadlines"]) == [("offer", "grid_company", "2026-12-25", 9, False)]
    assert seen["deadlines"][0]["beyond_calendar"] is False and seen["deadlines"][0]["since"] == "2026-12-11"

    claim.offered(moscow("2026-12-29"))
    set_clock(world, moscow("2026-12-30", 9))
    seen = page(world, anna, claim)
    assert brief(seen["deadlines"]) == [("payment", "applicant", "2027-01-14", 4, False)]
    assert seen["deadlines"][0]["title"].startswith("Оплатить счёт")
    assert seen["invoice"]["due"] == "2027-01-14"
    set_clock(world, moscow("2027-01-15"))  # the clock moves on: the applicant is late
    assert brief(page(world, staff, claim)["deadlines"]) == [("payment", "applicant", "2027-01-14", -1, True)]

    got = world.http.get(f"/api/v1/applications/{claim.id}/invoice", headers=anna.auth)
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == MEDIA
    text = text_of(got.content)
    assert "от 29 декабря 2026 г." in text and "Оплатить до 14 января 2027 г." in text
    assert "Покупатель (заказчик): Иванова Анна" in text and "55 000,50" in text.replace("\u202f", " ")


def test_a_late_evening_in_utc_is_the_next_day_in_moscow(world: World) -> None:
    anna = world.account("anna")
    claim = Claim(world, anna).submitted(moscow("2026-12-10")).moved("in_work", moscow("2026-12-11"))
    claim.offered(datetime(2026, 12, 29, 22, 30, tzinfo=UTC))  # 01:30 on 30.12 in Moscow
    set_clock(world, moscow("2026-12-30"))
    seen = page(world, anna, claim)
    assert brief(seen["deadlines"]) == [("payment", "applicant", "2027-01-15", 5, False)]
    assert seen["deadlines"][0]["since"] == "2026-12-30" and seen["invoice"]["due"] == "2027-01-15"


def test_a_state_buyer_pays_in_15_working_days_then_the_activities_term_runs(world: World) -> None:
    """44-ФЗ: 15 working days (28.01.2027); paid on 15.01.2027, the contract's 4 months end on
    Saturday 15.05.2027, moved to Monday 17.05 (ГК РФ ст. 193)."""
    anna = world.account("anna")
    claim = Claim(world, anna).submitted(moscow("2026-12-10"), "legal_150kw", 120)
    claim.moved("in_work", moscow("2026-12-11")).offered(moscow("2026-12-29"), state_buyer=True)
    set_clock(world, moscow("2026-12-30"))
    seen = page(world, anna, claim)
    assert brief(seen["deadlines"]) == [("payment", "applicant", "2027-01-28", 14, False)]
    assert seen["offer"]["state_buyer"] is True and seen["invoice"]["due"] == "2027-01-28"

    claim.concluded("2027-01-15", moscow("2027-01-15", 16))
    set_clock(world, moscow("2027-01-18"))
    seen = page(world, anna, claim)
    assert brief(seen["deadlines"]) == [("activities", "grid_company", "2027-05-17", 81, False)]
    assert seen["invoice"]["due"] == "2027-01-28"  # the invoice keeps its due date once paid


def test_a_payment_dated_the_day_of_the_offer_ends_the_payment_deadline(world: World) -> None:
    anna = world.account("anna")
    claim = Claim(world, anna).submitted(moscow("2026-12-10")).moved("in_work", moscow("2026-12-11"))
    claim.offered(moscow("2026-12-29", 15)).concluded("2026-12-29", moscow("2026-12-29", 17))
    set_clock(world, moscow("2026-12-30"))
    assert brief(page(world, anna, claim)["deadlines"]) == [
        ("activities", "grid_company", "2027-04-29", 77, False)
    ]


def test_no_deadlines_once_annulled_and_none_past_the_calendar_unflagged(world: World) -> None:
    anna = world.account("anna")
    late = Claim(world, anna).submitted(moscow("2027-12-28")).moved("in_work", moscow("2027-12-29"))
    set_clock(world, moscow("2027-12-29"))
    (offer,) = page(world, anna, late)["deadlines"]
    assert (offer["code"], offer["beyond_calendar"]) == ("offer", True)  # due in 2028: no decree yet
    late.moved("annulled", moscow("2027-12-30"))
    assert page(world, anna, late)["deadlines"] == []


def test_the_invoice_is_for_the_applicant_and_staff_only_and_after_the_offer(world: World) -> None:
    anna, boris, staff = world.account("anna"), world.account("boris"), world.account("staff", staff=True)
    claim = Claim(world, anna).submitted(moscow("2026-12-10")).moved("in_work", moscow("2026-12-11"))
    page(world, anna, claim)
    path = f"/api/v1/applications/{claim.id}/invoice"
    early = world.http.get(path, headers=anna.auth)
    assert (early.status_code, early.json()["code"]) == (404, "no_invoice")
    assert "Счёт" in early.json()["message"]
    claim.offered(moscow("2026-12-29"))
    page(world, anna, claim)
    for who, status in ((anna, 200), (staff, 200), (boris, 404)):
        assert world.http.get(path, headers=who.auth).status_code == status
    assert world.http.get(path, headers=boris.auth).json()["code"] == "not_found"
    assert world.http.get("/api/v1/applications/nope/invoice", headers=anna.auth).status_code == 404
    assert world.http.get(path).status_code == 401
    disposition = world.http.get(path, headers=staff.auth).headers["content-disposition"]
    assert disposition.startswith('attachment; filename="')
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == f"Счёт № {claim.who['number']}.docx"


def test_the_clock_is_the_app_s_own(world: World) -> None:
    """The app answers "today" in the company's time zone by its clock (no global patch)."""
    app = state_of(world).app
    app.clock = lambda: datetime(2026, 12, 31, 21, 30, tzinfo=UTC)
    assert app.local_today() == date(2027, 1, 1)
    assert app.now() == datetime(2026, 12, 31, 21, 30, tzinfo=UTC)
