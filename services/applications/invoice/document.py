"""The invoice as a DOCX document: «Счёт на оплату № … от …» in the usual Russian layout (the
payee's bank details on top, the parties, one line of service, the totals in figures and in
words, the due date) with the payment QR code that a bank app scans."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import segno
from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from services.applications.invoice.model import (
    Invoice,
    Payee,
    in_words,
    money,
    payment_fields,
    purpose,
    vat_text,
)
from services.applications.invoice.payload import payment_payload

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_MONTHS = [
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
]
_ALIGN = {
    "left": WD_ALIGN_PARAGRAPH.LEFT,
    "center": WD_ALIGN_PARAGRAPH.CENTER,
    "right": WD_ALIGN_PARAGRAPH.RIGHT,
}


def long_date(day: date) -> str:
    """«2 декабря 2026 г.»"""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year} г."


def qr_png(payload: str) -> bytes:
    """The payload as a QR code PNG: byte mode in UTF-8 without an ECI mark (the payload's
    header says the character set), error correction M, the four-module quiet zone."""
    code = segno.make(payload, error="m", encoding="utf-8", micro=False, boost_error=False)
    out = io.BytesIO()
    code.save(out, kind="png", scale=6, border=4)
    return out.getvalue()


def _document() -> Any:
    document = Document()
    style = document.styles["Normal"]
    style.font.name = "Arial"
    style.font.size = Pt(10)
    style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "Arial")
    style.paragraph_format.space_after = Pt(3)
    for section in document.sections:
        section.left_margin = Cm(2)
        section.right_margin = Cm(1.5)
        section.top_margin = Cm(1.5)
        section.bottom_margin = Cm(1.5)
    return document


def _para(document: Any, text: str, *, bold: bool = False, size: int = 0, align: str = "left") -> Any:
    paragraph = document.add_paragraph()
    paragraph.alignment = _ALIGN[align]
    run = paragraph.add_run(text)
    run.bold = bold
    if size:
        run.font.size = Pt(size)
    return run


def _table(document: Any, rows: list[list[str]], widths: list[float], *, header: bool = False) -> None:
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


def _bank_details(document: Any, payee: Payee) -> None:
    _table(
        document,
        [
            [f"{payee.bank}\nБанк получателя", "БИК\nСч. №", f"{payee.bic}\n{payee.corr_account}"],
            [f"ИНН {payee.inn}    КПП {payee.kpp}\n{payee.name}\nПолучатель", "Сч. №", payee.account],
        ],
        [9.5, 2.0, 6.0],
    )


def invoice_docx(invoice: Invoice, payee: Payee) -> bytes:
    """The invoice document; a detail that the payment QR standard refuses raises
    :class:`~shared.errors.Invalid` (nothing half-made is returned)."""
    payload = payment_payload(payment_fields(invoice, payee))
    document = _document()
    if payee.example:
        warning = _para(
            document,
            "ОБРАЗЕЦ: реквизиты получателя — примеры из настроек (LK_PAYEE_*), не оплачивать.",
            bold=True,
        )
        warning.font.color.rgb = RGBColor(0xC0, 0x00, 0x00)
    _bank_details(document, payee)
    document.add_paragraph()
    _para(document, f"Счёт на оплату № {invoice.number} от {long_date(invoice.issued)}", bold=True, size=14)
    supplier = f"{payee.name}, ИНН {payee.inn}, КПП {payee.kpp}" + (
        f", {payee.address}" if payee.address else ""
    )
    _para(document, f"Поставщик (исполнитель): {supplier}")
    _para(document, f"Покупатель (заказчик): {invoice.payer}")
    _para(
        document,
        f"Основание: договор об осуществлении технологического присоединения по заявке № {invoice.application_number}",
    )
    amount = money(invoice.amount_kopecks)
    service = f"Технологическое присоединение к электрическим сетям по заявке № {invoice.application_number}"
    _table(
        document,
        [
            ["№", "Наименование работ, услуг", "Кол-во", "Ед.", "Цена, руб.", "Сумма, руб."],
            ["1", service, "1", "усл.", amount, amount],
        ],
        [0.8, 8.2, 1.4, 1.2, 2.7, 2.7],
        header=True,
    )
    _para(document, f"Итого: {amount} руб.", bold=True, align="right")
    _para(document, vat_text(invoice, payee), bold=True, align="right")
    _para(document, f"Всего к оплате: {amount} руб.", bold=True, align="right")
    _para(document, f"Всего наименований 1, на сумму {amount} руб.")
    _para(document, in_words(invoice.amount_kopecks), bold=True)
    _para(document, f"Оплатить до {long_date(invoice.due)} включительно.", bold=True)
    _para(document, f"Назначение платежа: {purpose(invoice, payee)}")
    _para(document, "В назначении платежа укажите номер заявки: по нему оплата зачитывается.", size=9)
    document.add_paragraph().add_run().add_picture(io.BytesIO(qr_png(payload)), width=Cm(4.5))
    _para(document, "QR-код для оплаты в приложении банка (ГОСТ Р 56042-2014)", size=9)
    props = document.core_properties
    props.title = f"Счёт на оплату № {invoice.number}"
    props.subject = f"Заявка № {invoice.application_number}"
    props.author = "Личный кабинет ТП"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
