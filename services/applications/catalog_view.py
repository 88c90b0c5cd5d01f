"""The catalog as the API gives it, held in memory. The types are the command side's own
(:class:`~services.applications.catalog.CatalogBook`, in memory already); the ids of their
standard forms come from the ``applications.forms`` view, read once and again only after
that view has applied events. The whole list is rendered once per change of either, not
once per request (it is the busiest public read, and the same for everyone)."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from services.applications.catalog import CatalogBook
from services.applications.rules import TypeData
from services.applications.type_keys import DEFAULTS
from shared.readstore import ReadStore

TYPE_KEYS = (
    "code",
    "title",
    "description",
    "max_power_kw",
    "terms",
    "procedure",
    "payment",
    "fees",
    "documents",
    "deadlines",
    *DEFAULTS,  # issue 13: whom the type is for, bounds, voltages … (type_keys.py)
    "paper_signature",
)
# FastAPI's own rendering of a ``dict[str, Any]`` answer, so a held page is byte for byte
# what the route would give.
_JSON = TypeAdapter(dict[str, Any])


def type_out(data: TypeData, forms: dict[str, list[str]]) -> dict[str, Any]:
    """A catalog entry as the API gives it, with the ids of its standard forms."""
    flags = {k: bool(data.get(k)) for k in ("min_power_inclusive", "max_power_exclusive")}
    return {**{k: data.get(k) for k in TYPE_KEYS}, **flags, "forms": forms.get(data["code"], [])}


class CatalogView:
    def __init__(self, catalog: CatalogBook, store: ReadStore) -> None:
        self.catalog = catalog
        self.store = store
        self.forms_revision = 0  # counts the forms view's applied batches
        self._forms: tuple[int, dict[str, list[str]]] | None = None
        self._page: tuple[tuple[int, int], bytes] | None = None

    def forms_changed(self) -> None:
        """The forms view applied events (its runner's ``on_applied``): read it again."""
        self.forms_revision += 1

    async def forms(self) -> dict[str, list[str]]:
        """Type code → the ids of its standard forms."""
        held = self._forms
        if held is not None and held[0] == self.forms_revision:
            return held[1]
        revision = self.forms_revision  # a batch applied meanwhile makes the next call read again
        found: dict[str, list[str]] = {}
        for row in await self.store.fetch("SELECT type_code, form_id FROM applications_forms"):
            found.setdefault(row["type_code"], []).append(row["form_id"])
        self._forms = (revision, found)
        return found

    async def entry(self, data: TypeData) -> dict[str, Any]:
        return type_out(data, await self.forms())

    async def page(self) -> bytes:
        """``GET /api/v1/application-types`` as JSON, rendered once per change."""
        forms = await self.forms()
        key = (self.catalog.revision, self.forms_revision)
        held = self._page
        if held is not None and held[0] == key:
            return held[1]
        body = _JSON.dump_json({"items": [type_out(data, forms) for data in self.catalog.types.values()]})
        if self._forms is not None and self._forms[0] == key[1]:  # rendered from the current forms
            self._page = (key, body)
        return body
