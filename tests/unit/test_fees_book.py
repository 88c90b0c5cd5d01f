"""The fee schedules' book: seeded once from fees.json, edited by admins (the edit survives a
reload from the events), the year chosen for an estimate, an unknown region refused at its
field."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.applications.app import ApplicationsApp
from services.applications.fees.book import FeeBook
from services.applications.fees.domain import FeeIndex
from shared.errors import Invalid
from shared.settings import Settings


@pytest.fixture
def app(tmp_path: Path) -> ApplicationsApp:
    settings = Settings(var_dir=tmp_path, secret_key="k" * 40)
    instance = ApplicationsApp(settings, env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    instance.seed_catalog()
    return instance


def test_seeded_once_edited_and_read_back_from_the_events(app: ApplicationsApp) -> None:
    app.seed_catalog()  # a second start defines nothing twice
    index = app.find(FeeIndex.create_id(), FeeIndex)
    assert index is not None and index.keys == [["16", 2026]]
    tatarstan = app.fees.get("16", 2026)
    assert tatarstan is not None
    cheaper = tatarstan.model_copy(update={"year": 2027, "title": "Республика Татарстан"})
    app.fees.put(cheaper, "admin-1")
    edited = tatarstan.model_copy(update={"note": "исправлено"})
    app.fees.put(edited, "admin-1")
    again = FeeBook(app)
    again.seed()
    assert sorted(again.schedules) == [("16", 2026), ("16", 2027)]
    assert again.schedules[("16", 2026)].note == "исправлено"


def test_the_year_of_an_estimate(app: ApplicationsApp) -> None:
    assert app.fees.for_year("16", 2026).year == 2026
    assert app.fees.for_year("16", 2030).year == 2026  # the latest earlier one
    assert app.fees.for_year("16", 2020).year == 2026  # before the first: the first
    with pytest.raises(Invalid) as refused:
        app.fees.for_year("99", 2026)
    assert refused.value.errors == [
        {
            "field": "region",
            "code": "unknown_region",
            "message": "Для региона «99» ставки платы за ТП не заданы.",
        }
    ]
