"""The process's read side (applications.process): the public events of a whole process, fed
twice to the projection on a SQLite read store, give the milestones in order, the company's
documents (the offer's two, signed by the signature), the invoice with partial payments."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path

from services.applications.app import ApplicationsApp, today
from services.applications.domain import Application
from services.applications.facts import process_facts
from services.applications.projections import ProcessView
from services.applications.public import make_mapper
from shared.events import Envelope
from shared.readstore import SQLiteReadStore
from shared.settings import Settings
from tests.unit.test_applications_process import APPLICANT, STAFF, STAFF_FILES, in_work, offer, pay, signed

TODAY = today()


def envelopes(app: ApplicationsApp, claim_id: uuid.UUID) -> list[Envelope]:
    mapper = make_mapper(app)
    out = []
    for n, event in enumerate(app.repository.event_store.get(claim_id), start=1):
        public = mapper(event)
        if public is not None:
            out.append(public.envelope(source="applications", subject=str(claim_id), sequence=n, position=n))
    return out


def facts_after(tmp_path: Path, feed: list[Envelope], claim_id: uuid.UUID) -> dict[str, object]:
    async def run() -> dict[str, object]:
        store = SQLiteReadStore(tmp_path / "read.sqlite")
        await store.open()
        try:
            view = ProcessView()
            await store.migrate(view.ddl)
            for _ in range(2):  # a replay records nothing twice
                async with store.transaction() as tx:
                    await view.handle_many(tx, feed)
            return await process_facts(store, str(claim_id))
        finally:
            await store.close()

    return asyncio.run(run())


def test_a_signed_process_read_back(tmp_path: Path) -> None:
    app = ApplicationsApp(
        Settings(var_dir=tmp_path, secret_key="k" * 40), {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    )
    app.seed_catalog()
    claim_id = in_work(app)
    app.act(claim_id, STAFF, lambda c: c.place_offer(STAFF, offer(True), STAFF_FILES, "2030-01-10"))
    pay(app, claim_id, 30_000, "p-1")
    signed(app, claim_id)  # with the one-time code (ПЭП)
    notice = [{"slot": "tu_fulfilled", "file_id": "n-f", "name": "уведомление.pdf"}]
    app.act(claim_id, APPLICANT, lambda c: c.notify(APPLICANT, "tu_fulfilled", notice, {"n-f"}, None))
    day = TODAY - timedelta(days=1)
    app.act(claim_id, STAFF, lambda c: c.record_connection(STAFF, day, TODAY, TODAY, None))
    doc = {"slot": "closing_notice", "file_id": "act-f", "name": "уведомление.pdf"}
    app.act(claim_id, STAFF, lambda c: c.place_document(STAFF, "d-1", "closing_notice", doc, STAFF_FILES))

    facts = facts_after(tmp_path, envelopes(app, claim_id), claim_id)
    milestones = facts["milestones"]
    assert isinstance(milestones, list)
    assert [m["code"] for m in milestones] == [
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
    at = {m["code"]: m["at"] for m in milestones}
    assert (at["connected"], at["voltage_applied"], at["contract_concluded"]) == (
        day.isoformat(),
        TODAY.isoformat(),
        TODAY.isoformat(),
    )
    documents = facts["company_documents"]
    assert isinstance(documents, list)
    assert [(d["kind"], d["file_id"], bool(d["signed_at"])) for d in documents] == [
        ("offer_contract", "contract-f", True),
        ("technical_conditions", "tu-f", False),
        ("closing_notice", "act-f", False),
    ]
    signature = documents[0]["signature"]
    assert signature.startswith("Подписано ПЭП (простой электронной подписью) ")
    assert signature.endswith(", SHA-256 " + "ab" * 32) and [d["signature"] for d in documents[1:]] == [
        None,
        None,
    ]
    assert facts["invoice"] == {
        "amount_rub": 550.0,
        "due": "2030-01-10",
        "paid_rub": 300.0,
        "paid_at": TODAY.isoformat(),
        "payments": [{"amount_rub": 300.0, "paid_at": TODAY.isoformat(), "reference": "p-1"}],
    }
    assert facts["offer"] == {
        "needs_signature": True,
        "state_buyer": False,
        "activities_term": {"months": 4},
        "concluded_on": TODAY.isoformat(),
        "concluded_by": "signature",
        "refusal": None,
    }


def test_a_plain_move_to_acts_marks_the_check_alone(tmp_path: Path) -> None:
    """Stored histories of before issue 12, when staff clicked the stages by plain moves (no
    longer allowed: workflow.judge), still read back."""
    app = ApplicationsApp(
        Settings(var_dir=tmp_path, secret_key="k" * 40), {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    )
    app.seed_catalog()
    claim_id = in_work(app)
    for step in ("contract", "activities", "tu_check", "acts"):
        claim: Application = app.repository.get(claim_id)
        claim._changed(STAFF, step, "", None)  # as recorded then
        app.save(claim)
    facts = facts_after(tmp_path, envelopes(app, claim_id), claim_id)
    milestones = facts["milestones"]
    assert isinstance(milestones, list)
    assert [m["code"] for m in milestones] == ["received", "complete", "tu_checked"]
    assert facts["invoice"] is None and facts["company_documents"] == []
