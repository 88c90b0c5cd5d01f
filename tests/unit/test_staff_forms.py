"""The desk's «Сформировать по типовой форме» (pages/staff_forms.py) names the standard forms
and their fields as the files service's library builds them, and prefills from the application."""

from __future__ import annotations

import json
from pathlib import Path

from services.gateway.pages.staff import KINDS
from services.gateway.pages.staff_forms import CONTRACTS, FORMS, LABELS, choices, fields_of, kind_of

LIBRARY = Path(__file__).parents[2] / "services" / "files" / "forms"


def library_fields() -> dict[str, tuple[str, ...]]:
    """Each form's fields in the data (a contract's fields are its template's)."""
    index = json.loads((LIBRARY / "library.json").read_text(encoding="utf-8"))
    parts = [json.loads((LIBRARY / name).read_text(encoding="utf-8")) for name in index["parts"]]
    templates = {name: t for part in parts for name, t in part.get("templates", {}).items()}
    forms = index["forms"] + [form for part in parts for form in part["forms"]]
    forms = [{**templates.get(f.get("template", ""), {}), **f} for f in forms]
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
    for choice, (code, names) in FORMS.items():
        assert kind_of(choice) in dict(KINDS), choice
        assert library[code] == names, (choice, code)
        assert set(names) <= set(LABELS), names
    # The closing notice and a standard contract per category are on the desk.
    assert FORMS["closing_notice"][0] == "notice_possibility"
    assert FORMS["offer_contract"][0] == "contract_tp"  # the code older documents name
    contracts = {code for choice, (code, _) in FORMS.items() if kind_of(choice) == "offer_contract"}
    assert contracts == {
        "contract_tp",
        "contract_150kw",
        "contract_150_670kw",
        "contract_over_670kw",
        "contract_temporary",
        "contract_redistribution",
    }
    assert set(CONTRACTS) == {c for c in FORMS if kind_of(c) == "offer_contract"}


def test_the_contract_for_the_application_type_comes_first() -> None:
    for type_code, code in (
        ("individual_15kw", "contract_tp"),
        ("legal_150kw", "contract_150kw"),
        ("legal_150_670kw", "contract_150_670kw"),
        ("over_670kw", "contract_over_670kw"),
        ("mobile", "contract_temporary"),
        ("redistribution", "contract_redistribution"),
    ):
        listed = choices({"type_code": type_code}, KINDS)
        first, title = listed[0]
        assert FORMS[first][0] == code, type_code
        assert title.startswith("Договор об осуществлении технологического присоединения (оферта): ")
        assert [c for c, _ in listed][-2:] == ["closing_notice", "act_tp"]  # the process's order


def test_the_address_and_the_power_come_from_the_application() -> None:
    item = {"object_address": "г. Тверь, ул. Советская, д. 1", "power_kw": 12.5}
    shown = {f["name"]: f for f in fields_of(item, KINDS)}
    assert shown["object"]["value"] == "г. Тверь, ул. Советская, д. 1"
    assert shown["max_power_kw"]["value"] == "12,5"
    assert shown["meter_owner"]["value"] == ""
    assert shown["object"]["used_in"] == [
        "Договор об осуществлении технологического присоединения (оферта)",
        "Акт о выполнении технических условий",
        "Акт допуска прибора учёта в эксплуатацию",
        "Уведомление об обеспечении сетевой организацией возможности присоединения",
        "Акт об осуществлении технологического присоединения",
    ]
    assert shown["transformer_kva"]["used_in"] == ["Акт об осуществлении технологического присоединения"]
