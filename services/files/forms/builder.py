"""One builder: a form's spec (``specs.py``, from ``library.json``) → a DOCX document.

Fields that the cabinet can fill for the applicant are empty table cells wrapped in a
bookmark ``lk_<field>``; :func:`~services.files.forms.filling.fill_docx` writes the values
there. Bookmarks are invisible in Word and survive editing, so a new version that staff
publish from an edited copy stays fillable.
"""

from __future__ import annotations

from typing import Any

from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, RGBColor

from services.files.forms.filling import fill_docx
from services.files.forms.specs import (
    BOOKMARK,
    COMPANY_BLANKS,
    RULES,
    SAMPLE_MARK,
    Checklist,
    Fields,
    FormSpec,
    Grid,
    Para,
    Signatures,
)
from shared.docx import FORM, new_document, paragraph, to_bytes


class _Bookmarks:
    def __init__(self) -> None:
        self.next_id = 1

    def wrap(self, paragraph: Any, name: str, blank: str = "") -> None:
        """A bookmark ``lk_<name>`` at the end of ``paragraph`` around ``blank`` (a line to
        write on by hand): a filled-in copy gets the value there instead."""
        start = OxmlElement("w:bookmarkStart")
        start.set(qn("w:id"), str(self.next_id))
        start.set(qn("w:name"), BOOKMARK + name)
        end = OxmlElement("w:bookmarkEnd")
        end.set(qn("w:id"), str(self.next_id))
        paragraph._p.append(start)
        if blank:
            run = paragraph.add_run(blank)  # appended after the start mark
            run._r.addnext(end)
        else:
            paragraph._p.append(end)
        self.next_id += 1


def _with_company(text: str, company: str) -> str:
    """Where a form names the grid company, a blank that ``company`` (``LK_COMPANY_NAME``) fills."""
    for blank, named in COMPANY_BLANKS:
        text = text.replace(blank, named.format(company))
    return text


def build_docx(spec: FormSpec, version: int = 1, company: str = "") -> bytes:
    """The form as a DOCX document; ``company`` names the grid company where the form does. A
    sample is the form filled with its sample values under the mark «ОБРАЗЕЦ ЗАПОЛНЕНИЯ»."""
    document = new_document(FORM)
    marks = _Bookmarks()
    if spec.sample_of:
        mark = paragraph(document, SAMPLE_MARK, bold=True, align="center", size=16)
        for run in mark.runs:
            run.font.color.rgb = RGBColor(0xC0, 0x00, 0x00)
    paragraph(
        document,
        f"Типовая форма. Составлена в соответствии с: {RULES}, {spec.basis}.",
        align="right",
        size=9,
    )
    paragraph(document, spec.heading, bold=True, align="center", size=14)
    paragraph(document, spec.subheading, bold=True, align="center")
    for block in spec.blocks:
        if isinstance(block, Para):
            if block.page_break:
                document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
            text = _with_company(block.text, company) if company else block.text
            paragraph(document, text, bold=block.bold, align=block.align)
        elif isinstance(block, Fields):
            paragraph(document, block.title, bold=True, align="left")
            table = document.add_table(rows=0, cols=2)
            table.style = "Table Grid"
            table.alignment = WD_TABLE_ALIGNMENT.CENTER
            for label, key in block.rows:
                cells = table.add_row().cells
                cells[0].width = Cm(8)
                cells[1].width = Cm(9)
                cells[0].paragraphs[0].add_run(label)
                if key:
                    marks.wrap(cells[1].paragraphs[0], key)
        elif isinstance(block, Checklist):
            paragraph(document, block.title, bold=True, align="left")
            for number, item in enumerate(block.items, 1):
                paragraph(document, f"☐ {number}. {item}.", align="left")
        elif isinstance(block, Grid):
            paragraph(document, block.title, bold=True, align="left")
            table = document.add_table(rows=1 + block.rows, cols=len(block.headers))
            table.style = "Table Grid"
            for cell, header in zip(table.rows[0].cells, block.headers, strict=True):
                cell.paragraphs[0].add_run(header).bold = True
        elif isinstance(block, Signatures):
            document.add_paragraph()
            for party in block.parties:
                paragraph(document, f"{party}: ____________________ / ______________________ /", align="left")
                paragraph(document, "(подпись)                    (фамилия, инициалы)", align="left", size=9)
            marks.wrap(paragraph(document, "Дата: ", align="left"), "date", "«___» ____________ 20__ г.")
            paragraph(document, "М. П. (при наличии)", align="left", size=9)
    props = document.core_properties
    props.title = spec.title
    props.subject = spec.subheading[:255]  # the property's limit
    props.author = "Личный кабинет ТП"
    props.keywords = f"{spec.code}; версия {version}"
    props.comments = f"Форма {spec.code}, версия {version}. {RULES}."
    if spec.sample_of:
        props.keywords += f"; образец заполнения формы {spec.sample_of}"
        return fill_docx(to_bytes(document), spec.sample)[0]
    return to_bytes(document)
