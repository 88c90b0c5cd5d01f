"""Applications' stored events keep loading: events recorded by the code before the event
classes were declared on the aggregates (topics ``services.applications.domain:<Class>.<Event>``;
the catalog entry's data trimmed) rebuild the same aggregates, and the event map covers them."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from eventsourcing.persistence import StoredEvent

from services.applications.app import ApplicationsApp
from services.applications.domain import Application, ApplicationType, Catalog
from services.applications.public import EVENTS, make_mapper
from shared.events import DocumentsAddedV1, StatusChangedV1
from shared.settings import Settings

RECORDED = Path(__file__).parent / "data" / "applications_events_v0.json"
CLAIM = uuid.UUID("e38af304-4020-42f2-8018-db929721d0fa")


@pytest.fixture
def app(tmp_path: Path) -> ApplicationsApp:
    instance = ApplicationsApp(
        Settings(var_dir=tmp_path, secret_key="k" * 40), env={"PERSISTENCE_MODULE": "eventsourcing.popo"}
    )
    stored = [
        StoredEvent(
            originator_id=uuid.UUID(e["originator_id"]),
            originator_version=e["originator_version"],
            topic=e["topic"],
            state=json.dumps(e["state"], ensure_ascii=False, separators=(",", ":")).encode(),
        )
        for e in json.loads(RECORDED.read_text(encoding="utf-8"))
    ]
    instance.recorder.insert_events(stored)
    return instance


def test_old_events_rebuild_the_aggregates(app: ApplicationsApp) -> None:
    claim = app.find(CLAIM, Application)
    assert claim is not None
    assert (claim.number, claim.status, claim.version, claim.due) == (
        "ТП-2026-000007",
        "in_work",
        4,
        "2026-12-15",
    )
    assert [d["file_id"] for d in claim.documents] == ["f1", "f2"]
    catalog = app.find(Catalog.create_id(), Catalog)
    assert catalog is not None and catalog.codes == ["individual_15kw"]
    kind = app.find(ApplicationType.create_id("individual_15kw"), ApplicationType)
    assert kind is not None and kind.version == 2 and kind.data["title"] == "Изменённый"


def test_old_events_map_to_the_same_public_events(app: ApplicationsApp) -> None:
    mapper = make_mapper(app)
    events = list(app.repository.event_store.get(CLAIM))
    kinds: list[type] = [type(e) for e in events]
    assert kinds == [
        Application.Submitted,
        Application.StatusChanged,
        Application.DocumentsAdded,
        Application.StatusChanged,
    ]
    changed = mapper(events[1])
    assert isinstance(changed, StatusChangedV1)
    assert (changed.number, changed.applicant_email, changed.to_title) == (
        "ТП-2026-000007",
        "ivan@example.ru",
        "Требуются документы (исправления)",
    )
    added = mapper(events[2])
    assert isinstance(added, DocumentsAddedV1) and [d.name for d in added.documents] == ["План.pdf"]
    for event in app.repository.event_store.get(Catalog.create_id()):
        assert EVENTS(event) is None  # the catalog stays internal
