"""The desk's «Сформировать по типовой форме» (pages/staff_forms.py) names the standard forms
and their fields as the files service's library builds them, and prefills from the application."""

from __future__ import annotations

import json
from pathlib import Path

from services.gateway.pages.staff import KINDS
from services.gateway.pages.staff_forms import FORMS, LABELS, fields_of

LIBRARY = Path(__file__).parents[2] / "services" / "files" / "forms" / "library.json"


def library_fields() -> dict[str, tuple[str, ...]]:
    forms = json.loads(LIBRARY.read_text(encoding="utf-8"))["forms"]
    return {
        form["code"]: tuple(
            row[1]
            for block in form.get("blocks", [])
            if isinstance(block, dict) and "fields" in block
            for row in block["rows"]
            if isinstance(row, list) and len(row) > 1 and row[1]
        )
        for form in forms
    }


def test_every_form_of_the_desk_has_exactly_the_fields_of_the_library() -> None:
    library = library_fields()
    for kind, (code, names) in FORMS.items():
        assert kind in dict(KINDS), kind
        assert library[code] == names, (kind, code)
        assert set(names) <= set(LABELS), names


def test_the_address_and_the_power_come_from_the_application() -> None:
    item = {"object_address": "г. Тверь, ул. Советская, д. 1", "power_kw": 12.5}
    shown = {f["name"]: f for f in fields_of(item, KINDS)}
    assert shown["object"]["value"] == "г. Тверь, ул. Советская, д. 1"
    assert shown["max_power_kw"]["value"] == "12,5"
    assert shown["meter_owner"]["value"] == ""
    assert shown["object"]["used_in"] == [
        "Акт о выполнении технических условий",
        "Акт допуска прибора учёта в эксплуатацию",
        "Акт об осуществлении технологического присоединения",
    ]
