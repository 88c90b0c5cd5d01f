"""The catalog of application types: seeded once from catalog.json (the data: terms, fees,
checklists, deadlines), edited by admins, held in memory by the process."""

from __future__ import annotations

import json
from pathlib import Path

from services.applications.domain import ApplicationType, Catalog
from services.applications.rules import TypeData
from shared.application import ServiceApplication
from shared.errors import Invalid
from shared.statuses import TITLES

CATALOG_FILE = Path(__file__).with_name("catalog.json")


class CatalogBook:
    """The types of one applications process (its eventsourcing application saves them)."""

    def __init__(self, app: ServiceApplication) -> None:
        self.app = app
        self.types: dict[str, TypeData] = {}

    def seed(self) -> None:
        """Define the seed types once; load the whole catalog into memory."""
        seed = json.loads(CATALOG_FILE.read_text(encoding="utf-8"))
        catalog = self.app.find(Catalog.create_id(), Catalog) or Catalog()
        fresh = []
        for item in seed["types"]:
            if item["code"] not in catalog.codes:
                titled = [{**d, "title": seed["documents"][d["code"]]} for d in item["documents"]]
                catalog.add(code=item["code"])
                fresh.append(ApplicationType(code=item["code"], data={**item, "documents": titled}))
        if fresh:
            self.app.commit(catalog, *fresh)
        for code in catalog.codes:
            self.types[code] = self._kind(code).data

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
        self.types[code] = data
        return data

    def _kind(self, code: str) -> ApplicationType:
        found = self.app.find(ApplicationType.create_id(code), ApplicationType)
        if found is None:
            raise LookupError(f"catalog type {code} is listed but not defined")
        return found
