"""The standard forms as data: ``library.json`` read into typed specs.

The texts follow the Rules of technological connection (Decree of the Government of the
Russian Federation of 27.12.2004 No. 861): what an application states (п. 9, for small
applicants п. 14), the documents attached to it (п. 10), the essential terms of the
contract (п. 16) and the closing documents (акт об осуществлении ТП, уведомление об
обеспечении возможности присоединения, акт о выполнении ТУ, акт допуска прибора учёта).
Amounts and terms set per region or per case are blanks, never constants. The data is split
by kind (``library.json`` names its ``parts``): the application forms share one template
(``application``), the category contracts another (``contract`` in ``contracts.json``); a
template's ``{"slot": name}`` block takes the form's own blocks of that name. Every
application and statement has a filled-in sample (``<code>_sample``) built from the same spec
with the sample values of the data, marked «ОБРАЗЕЦ».
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from services.files import errors

HERE = Path(__file__).parent


def _read(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((HERE / name).read_text(encoding="utf-8"))
    return data


LIBRARY = _read("library.json")
PARTS = [_read(name) for name in LIBRARY["parts"]]
SAMPLE_MARK = "ОБРАЗЕЦ ЗАПОЛНЕНИЯ"
BOOKMARK = "lk_"  # a fillable field is a bookmark lk_<field> (builder.py, filling.py)
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
    page_break: bool = False  # an annex starts on a new page


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
    kind: str  # application | act | contract | statement
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
    # A filled-in sample: the form it shows and the values written into its fields.
    sample_of: str | None = None
    sample: dict[str, str] = field(default_factory=dict)
    # The application types a contract is the standard contract for.
    for_types: tuple[str, ...] = ()

    @property
    def fillable(self) -> bool:
        return self.kind == "application" and self.sample_of is None

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


def _blocks(items: list[dict[str, Any]], slots: dict[str, Any]) -> list[Block]:
    """The blocks; a ``{"slot": name}`` item is replaced by the form's blocks of that name."""
    out: list[Block] = []
    for item in items:
        if "slot" in item:
            out += _blocks(slots[item["slot"]], slots)
        else:
            out.append(_block(item, slots))
    return out


def _block(data: dict[str, Any], slots: dict[str, Any]) -> Block:
    """One block; a string where a list belongs names a slot the form fills."""

    def value(key: str) -> Any:
        found = data[key]
        return slots[found] if isinstance(found, str) else found

    if "para" in data:
        return Para(
            data["para"], data.get("bold", False), data.get("align", "justify"), data.get("page_break", False)
        )
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
        blocks=_blocks(template["blocks"], slots),
        basis=form.get("basis", template["basis"]),
        power_range=(low, high),
        id_fields=tuple(form.get("id_fields", template["id_fields"])),
    )


def _document(form: dict[str, Any], templates: dict[str, Any]) -> FormSpec:
    """An act, a statement or a contract; a contract fills the ``contract`` template's slots."""
    template = templates.get(form.get("template", ""), {})
    merged = {**template, **form}
    return FormSpec(
        code=form["code"],
        kind=merged["kind"],
        title=form["title"],
        heading=merged["heading"],
        subheading=form["subheading"],
        application_type_code=None,
        blocks=tuple(_blocks(merged["blocks"], {**template.get("slots", {}), **form.get("slots", {})})),
        basis=merged["basis"],
        for_types=tuple(form.get("for_types", ())),
    )


def _sample(spec: FormSpec, values: dict[str, str]) -> FormSpec:
    """The filled-in sample of an application or a statement («Образец заполнения»)."""
    return replace(
        spec,
        code=f"{spec.code}_sample",
        title=f"Образец заполнения: {spec.title}",
        application_type_code=None,
        sample_of=spec.code,
        sample=values,
    )


def _specs() -> tuple[FormSpec, ...]:
    templates = {name: t for part in PARTS for name, t in part.get("templates", {}).items()}
    samples = LIBRARY["samples"]
    specs: list[FormSpec] = []
    for form in LIBRARY["forms"] + [f for part in PARTS for f in part["forms"]]:
        spec = _application(form) if "applicant" in form else _document(form, templates)
        specs.append(spec)
        if spec.kind in ("application", "statement"):
            who = samples[form.get("sample", form.get("applicant", "individual"))]
            values = {**samples["common"], **who, **form.get("sample_values", {})}
            specs.append(_sample(spec, values))
    return tuple(specs)


SPECS: tuple[FormSpec, ...] = _specs()
SPECS_BY_CODE = {spec.code: spec for spec in SPECS}
