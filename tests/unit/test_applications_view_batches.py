"""The applications' view in batches (ApplicationsView.handle_many: runs of submissions, status
changes and facts as a few executemany) writes the same rows as one event at a time, whatever
the cut of the batches and however the applicants' profiles and assignments interleave."""

from __future__ import annotations

import asyncio
import random
import uuid
from pathlib import Path

from services.applications.actor import Actor
from services.applications.app import ApplicationsApp, today
from services.applications.domain import Application
from services.applications.projections import ApplicationsView
from services.applications.public import make_mapper
from services.applications.rules import Submission
from shared.events import Envelope, ProfileUpdatedV1
from shared.readstore import SQLiteReadStore
from shared.settings import Settings

TABLES = ("rows", "timeline", "view_names", "contacts", "assignees")
STAFF = Actor(str(uuid.uuid4()), "staff", "Петрова Анна", "staff@example.ru")


def feed(tmp_path: Path) -> list[Envelope]:
    """Six applications of three applicants with their histories, and profiles between."""
    app = ApplicationsApp(
        Settings(var_dir=tmp_path, secret_key="k" * 40), {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    )
    app.seed_catalog()
    mapper = make_mapper(app)
    code, kind = sorted(app.types.items())[0]
    people = [Actor(str(uuid.uuid4()), "consumer", f"login{i}", f"p{i}@example.ru") for i in range(3)]
    out: list[Envelope] = []
    for i in range(6):
        person = people[i % 3]
        form = Submission(code, 10.0, [], {}, f"г. Тверь, ул. Садовая, д. {i}", "+7 900", person.email)
        claim = Application.file(person, kind, f"ТП-2026-{i:06d}", form, today().isoformat())
        if i % 2:
            claim.move(STAFF, "needs_documents", "Нужен план.", None)
        if i % 3:
            claim.move(STAFF, "in_work", "", None)
            claim.take(STAFF)
        app.commit(claim)
        for n, event in enumerate(app.repository.event_store.get(claim.id), start=1):
            public = mapper(event)
            if public is not None:
                out.append(
                    public.envelope(source="applications", subject=str(claim.id), sequence=n, position=n)
                )
        renamed = ProfileUpdatedV1(
            account_id=person.account_id,
            first_name=f"Имя{i}",
            last_name="Иванов",
            display_name=f"Имя{i} Иванов",
        )
        out.append(
            renamed.envelope(source="identity", subject=person.account_id, sequence=i + 1, position=i + 1)
        )
    return out


def rows_after(
    tmp_path: Path, events: list[Envelope], cuts: list[int]
) -> dict[str, list[tuple[object, ...]]]:
    async def run() -> dict[str, list[tuple[object, ...]]]:
        store = SQLiteReadStore(tmp_path / f"read-{uuid.uuid4().hex}.sqlite")
        await store.open()
        try:
            view = ApplicationsView()
            await store.migrate(view.ddl)
            start = 0
            for cut in [*cuts, len(events)]:
                async with store.transaction() as tx:
                    await view.handle_many(tx, events[start:cut])
                start = cut
            return {
                t: [
                    tuple(r.values())
                    for r in await store.fetch(f"SELECT * FROM applications_{t} ORDER BY 1, 2")
                ]
                for t in TABLES
            }
        finally:
            await store.close()

    return asyncio.run(run())


def test_batches_write_what_single_events_write(tmp_path: Path) -> None:
    events = feed(tmp_path)
    one_by_one = rows_after(tmp_path, events, list(range(1, len(events))))
    assert len(one_by_one["rows"]) == 6 and len(one_by_one["assignees"]) == 4
    assert {r[3] for r in one_by_one["rows"]} == {"Иванов Имя3", "Иванов Имя4", "Иванов Имя5"}
    assert one_by_one == rows_after(tmp_path, events, [])  # all in one batch
    rng = random.Random(15)
    for _ in range(5):
        cuts = sorted(rng.sample(range(1, len(events)), rng.randrange(1, 6)))
        assert one_by_one == rows_after(tmp_path, events, cuts), cuts
