"""Filling a form: the applicant's values written into its ``lk_<field>`` bookmarks."""

from __future__ import annotations

import copy
import io
from datetime import date

from docx import Document
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

from services.files.forms.specs import BOOKMARK
from shared.docx import signed_date
from shared.format import today as local_today


def bookmarks_in(data: bytes) -> set[str]:
    """The fillable fields (``lk_*`` bookmarks) of a DOCX document."""
    document = Document(io.BytesIO(data))
    return {
        name[len(BOOKMARK) :]
        for start in document.element.body.iter(qn("w:bookmarkStart"))
        if (name := start.get(qn("w:name")) or "").startswith(BOOKMARK)
    }


def fill_docx(data: bytes, values: dict[str, str]) -> tuple[bytes, int]:
    """Write ``values`` into the ``lk_<field>`` bookmarks; returns (document, fields filled).

    Whatever a bookmark held (a blank line) is replaced; the first run's formatting stays."""
    document = Document(io.BytesIO(data))
    filled = 0
    for start in list(document.element.body.iter(qn("w:bookmarkStart"))):
        name = start.get(qn("w:name")) or ""
        key = name[len(BOOKMARK) :]
        if not name.startswith(BOOKMARK) or key not in values:
            continue
        mark_id = start.get(qn("w:id"))
        style = None
        sibling = start.getnext()
        while sibling is not None and not (
            sibling.tag == qn("w:bookmarkEnd") and sibling.get(qn("w:id")) == mark_id
        ):
            following = sibling.getnext()
            if sibling.tag == qn("w:r"):
                if style is None and sibling.find(qn("w:rPr")) is not None:
                    style = copy.deepcopy(sibling.find(qn("w:rPr")))
                sibling.getparent().remove(sibling)
            sibling = following
        run = OxmlElement("w:r")
        if style is not None:
            run.append(style)
        text = OxmlElement("w:t")
        text.set(qn("xml:space"), "preserve")
        text.text = values[key]
        run.append(text)
        start.addnext(run)
        filled += 1
    document.core_properties.last_modified_by = "Личный кабинет ТП (заполнено)"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue(), filled


def today_ru(today: date | None = None) -> str:
    """«05» марта 2026 г.: a date as a form is signed (today in the company's zone)."""
    return signed_date(today or local_today())
