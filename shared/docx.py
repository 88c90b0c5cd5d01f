"""What every generated DOCX document of the cabinet shares (the standard forms, the invoice, the
company's documents): the page and its font, a paragraph of one run, a table of plain cells,
Russian dates as documents write them, and the bytes out. python-docx does the writing; this
module only fixes the house style in one place."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from typing import Any

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MONTHS = (
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
)
Align = str  # "left", "center", "right" or "justify"
_ALIGN = {
    "left": WD_ALIGN_PARAGRAPH.LEFT,
    "center": WD_ALIGN_PARAGRAPH.CENTER,
    "right": WD_ALIGN_PARAGRAPH.RIGHT,
    "justify": WD_ALIGN_PARAGRAPH.JUSTIFY,
}


@dataclass(frozen=True)
class PageStyle:
    """The Normal font and the margins (cm: left, right, top, bottom)."""

    font: str
    size: int
    margins: tuple[float, float, float, float]
    space_after: int = 3


FORM = PageStyle("Times New Roman", 12, (2.5, 1.5, 2, 2), space_after=4)  # the Rules' forms
BUSINESS = PageStyle("Arial", 10, (2, 1.5, 1.5, 1.5))  # invoices and the like


def long_date(day: date) -> str:
    """«2 декабря 2026 г.»"""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year} г."


def signed_date(day: date) -> str:
    """«05» марта 2026 г.: a date as a form is signed."""
    return f"«{day.day:02d}» {MONTHS[day.month - 1]} {day.year} г."


def new_document(style: PageStyle) -> Any:
    """An empty document in ``style`` (the font set for Cyrillic text too)."""
    document = Document()
    normal = document.styles["Normal"]
    normal.font.name = style.font
    normal.font.size = Pt(style.size)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), style.font)
    normal.paragraph_format.space_after = Pt(style.space_after)
    left, right, top, bottom = style.margins
    for section in document.sections:
        section.left_margin = Cm(left)
        section.right_margin = Cm(right)
        section.top_margin = Cm(top)
        section.bottom_margin = Cm(bottom)
    return document


def paragraph(document: Any, text: str, *, bold: bool = False, size: int = 0, align: Align = "left") -> Any:
    """A paragraph of one run (``.runs[0]`` to colour it); ``size`` 0 keeps the style's."""
    added = document.add_paragraph()
    added.alignment = _ALIGN[align]
    run = added.add_run(text)
    run.bold = bold
    if size:
        run.font.size = Pt(size)
    return added


def grid(document: Any, rows: list[list[str]], widths: list[float], *, header: bool = False) -> Any:
    """A bordered table of plain text cells, ``widths`` in cm; the first row bold as a header."""
    table = document.add_table(rows=0, cols=len(widths))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for column, width in zip(table.columns, widths, strict=True):
        column.width = Cm(width)  # the grid, which LibreOffice follows; Word follows the cells
    for number, row in enumerate(rows):
        cells = table.add_row().cells
        for cell, text, width in zip(cells, row, widths, strict=True):
            cell.width = Cm(width)
            cell.paragraphs[0].add_run(text).bold = header and number == 0
    return table


def to_bytes(document: Any) -> bytes:
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
