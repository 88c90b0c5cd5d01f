"""The standard forms as data: ``library.json`` read into typed specs.

The texts follow the Rules of technological connection (Decree of the Government of the
Russian Federation of 27.12.2004 No. 861): what an application states (п. 9, for small
applicants п. 14), the documents attached to it (п. 10), the essential terms of the
contract (п. 16) and the closing documents (акт об осуществлении ТП, акт о выполнении ТУ,
акт допуска прибора учёта). Amounts and terms set per region or per case are blanks, never
constants. The six application forms share one template (``application`` in the file):
each names its applicant rows, extra object rows and attached documents.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.files import errors

LIBRARY = json.loads(Path(__file__).with_name("library.json").read_text(encoding="utf-8"))
RULES: str = LIBRARY["rules"]
COMPANY_BLANKS: list[tuple[str, str]] = [(blank, named) for blank, named in LIBRARY["company_blanks"]]

Row = tuple[str, str | None]  # (label, fillable field or None)


@dataclass(frozen=True)
class Fields:
    title: str
    rows: Sequence[Row]


@dataclass(frozen=True)
class Para:
    text: str
    bold: bool = False
    align: str = "justify"


@dataclass(frozen=True)
class Checklist:
    title: str
    items: Sequence[str]


@dataclass(frozen=True)
class Grid:
    title: str
    headers: Sequence[str]
    rows: int = 3


@dataclass(frozen=True)
class Signatures:
    parties: Sequence[str]


Block = Fields | Para | Checklist | Grid | Signatures


@dataclass(frozen=True)
class FormSpec:
    code: str
    kind: str  # application | act | contract
    title: str
    heading: str
    subheading: str
    application_type_code: str | None
    blocks: Sequence[Block]
    basis: str
    # Application forms: the power range (exclusive low, inclusive high) and which
    # identity document the applicant states.
    power_range: tuple[float, float | None] = (0.0, None)
    id_fields: tuple[str, ...] = ()

    @property
    def fillable(self) -> bool:
        return self.kind == "application"

    def check_applicant(self, power_kw: float, given: set[str]) -> None:
        """The applicant's power is in the form's range and the identity it needs is given
        (``given``: the identity fields filled in)."""
        low, high = self.power_range
        if power_kw <= low or (high is not None and power_kw > high):
            upto = f"до {high:g} кВт включительно" if high is not None else ""
            span = upto if not low else f"свыше {low:g} кВт" + (f" и {upto}" if upto else "")
            raise errors.power_out_of_range(span)
        if self.id_fields and not given & set(self.id_fields):
            need = "паспортные данные" if self.id_fields == ("passport",) else "ОГРН (ОГРНИП)"
            raise errors.identity_required(need)


def _rows(rows: list[list[Any]]) -> list[Row]:
    return [(label, key) for label, key in rows]


def _block(data: dict[str, Any], slots: dict[str, Any]) -> Block:
    """One block; a string where a list belongs names a slot the form fills."""

    def value(key: str) -> Any:
        found = data[key]
        return slots[found] if isinstance(found, str) else found

    if "para" in data:
        return Para(data["para"], data.get("bold", False), data.get("align", "justify"))
    if "fields" in data:
        return Fields(data["fields"], _rows(value("rows")))
    if "checklist" in data:
        return Checklist(data["checklist"], list(value("items")))
    if "grid" in data:
        return Grid(data["grid"], list(data["headers"]), data.get("rows", 3))
    return Signatures(list(data["signatures"]))


def _application(form: dict[str, Any]) -> FormSpec:
    template = LIBRARY["application"]
    applicant = template["applicant"]
    slots = {
        "applicant": applicant[form["applicant"]] + applicant["contact"],
        "object": template["object"] + form.get("object_extra", []),
        "documents": [LIBRARY["documents"][key] for key in form["documents"]],
    }
    low, high = form["power_range"]
    return FormSpec(
        code=form["code"],
        kind="application",
        title=form["title"],
        heading=template["heading"],
        subheading=form["subheading"],
        application_type_code=form["application_type_code"],
        blocks=[_block(b, slots) for b in template["blocks"]],
        basis=form.get("basis", template["basis"]),
        power_range=(low, high),
        id_fields=tuple(form.get("id_fields", template["id_fields"])),
    )


def _document(form: dict[str, Any]) -> FormSpec:
    return FormSpec(
        code=form["code"],
        kind=form["kind"],
        title=form["title"],
        heading=form["heading"],
        subheading=form["subheading"],
        application_type_code=None,
        blocks=tuple(_block(b, {}) for b in form["blocks"]),
        basis=form["basis"],
    )


SPECS: tuple[FormSpec, ...] = tuple(
    _application(f) if "applicant" in f else _document(f) for f in LIBRARY["forms"]
)
SPECS_BY_CODE = {spec.code: spec for spec in SPECS}
