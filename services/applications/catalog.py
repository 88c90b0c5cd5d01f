"""The catalog of application types: seeded from catalog.json (the data: terms, fees,
checklists, deadlines, whom each type is for), edited by admins, held in memory by the process.

A seed type no admin has edited follows catalog.json: a newer seed replaces it (an ``Updated``
by the actor "seed"); an edited one keeps the admin's data and gets only the keys it lacks
(type_keys.with_keys, also for types created through the API before those keys existed).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from eventsourcing.persistence import IntegrityError

from services.applications.domain import ApplicationType, Catalog
from services.applications.rules import TypeData
from services.applications.type_keys import SEED_ACTOR, with_keys
from shared.application import ServiceApplication
from shared.errors import Invalid
from shared.statuses import TITLES

CATALOG_FILE = Path(__file__).with_name("catalog.json")


def seed_types() -> dict[str, TypeData]:
    """catalog.json's types by code, each document with its title."""
    seed = json.loads(CATALOG_FILE.read_text(encoding="utf-8"))
    return {
        item["code"]: {
            **item,
            "documents": [{**d, "title": seed["documents"][d["code"]]} for d in item["documents"]],
        }
        for item in seed["types"]
    }


class CatalogBook:
    """The types of one applications process (its eventsourcing application saves them)."""

    def __init__(self, app: ServiceApplication) -> None:
        self.app = app
        self.types: dict[str, TypeData] = {}
        self.seeded: dict[str, TypeData] = {}
        self.revision = 0  # counts changes of ``types``, after each (catalog_view.py holds a page)

    def seed(self) -> None:
        """Define the new seed types, upgrade the unedited ones; load the catalog into memory."""
        self.seeded = seed_types()
        catalog = self.app.find(Catalog.create_id(), Catalog) or Catalog()
        fresh: list[Any] = []
        for code, data in self.seeded.items():
            if code not in catalog.codes:
                catalog.add(code=code)
                fresh.append(ApplicationType(code=code, data=data))
        if fresh:
            self.app.commit(catalog, *fresh)
        for code, data in self.seeded.items():
            kind = self._kind(code)
            if kind.by_seed and kind.data != data:
                kind.update(data=data, actor_id=SEED_ACTOR)
                with contextlib.suppress(IntegrityError):  # another process did it, to the same data
                    self.app.commit(kind)
        for code in catalog.codes:
            self.types[code] = with_keys(self._kind(code).data, self.seeded.get(code))
        self.revision += 1

    def put(self, code: str, data: TypeData, actor_id: str) -> TypeData:
        """Create or replace a catalog entry (admins)."""
        if not code.replace("_", "").isalnum() or len(code) > 64:
            raise Invalid("invalid_code", "Код вида заявки: латинские буквы, цифры и подчёркивание.")
        unknown = set(data.get("deadlines", {})) - set(TITLES)
        if unknown:
            raise Invalid("unknown_status", "Неизвестный статус в сроках: " + ", ".join(sorted(unknown)))
        data = {**data, "code": code}
        catalog = self.app.find(Catalog.create_id(), Catalog) or Catalog()
        if code in catalog.codes:
            kind = self._kind(code)
            kind.update(data=data, actor_id=actor_id)
            self.app.commit(kind)
        else:
            catalog.add(code=code)
            self.app.commit(catalog, ApplicationType(code=code, data=data))
        self.types[code] = with_keys(data, self.seeded.get(code))
        self.revision += 1
        return self.types[code]

    def _kind(self, code: str) -> ApplicationType:
        found = self.app.find(ApplicationType.create_id(code), ApplicationType)
        if found is None:
            raise LookupError(f"catalog type {code} is listed but not defined")
        return found
