"""The invoice as a DOCX document: «Счёт на оплату № … от …» in the usual Russian layout (the
payee's bank details on top, the parties, one line of service, the totals in figures and in
words, the due date) with the payment QR code that a bank app scans."""

from __future__ import annotations

import io
from typing import Any

import segno
from docx.shared import Cm, RGBColor

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
from shared.docx import BUSINESS, MEDIA_TYPE, grid, long_date, new_document, paragraph, to_bytes

__all__ = ["MEDIA_TYPE", "invoice_docx", "long_date", "qr_png"]


def qr_png(payload: str) -> bytes:
    """The payload as a QR code PNG: byte mode in UTF-8 without an ECI mark (the payload's
    header says the character set), error correction M, the four-module quiet zone."""
    code = segno.make(payload, error="m", encoding="utf-8", micro=False, boost_error=False)
    out = io.BytesIO()
    code.save(out, kind="png", scale=6, border=4)
    return out.getvalue()


def _bank_details(document: Any, payee: Payee) -> None:
    grid(
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
    document = new_document(BUSINESS)
    if payee.example:
        warning = paragraph(
            document,
            "ОБРАЗЕЦ: реквизиты получателя — примеры из настроек (LK_PAYEE_*), не оплачивать.",
            bold=True,
        )
        warning.runs[0].font.color.rgb = RGBColor(0xC0, 0x00, 0x00)
    _bank_details(document, payee)
    document.add_paragraph()
    paragraph(
        document, f"Счёт на оплату № {invoice.number} от {long_date(invoice.issued)}", bold=True, size=14
    )
    supplier = f"{payee.name}, ИНН {payee.inn}, КПП {payee.kpp}" + (
        f", {payee.address}" if payee.address else ""
    )
    paragraph(document, f"Поставщик (исполнитель): {supplier}")
    paragraph(document, f"Покупатель (заказчик): {invoice.payer}")
    paragraph(
        document,
        f"Основание: договор об осуществлении технологического присоединения по заявке № {invoice.application_number}",
    )
    amount = money(invoice.amount_kopecks)
    service = f"Технологическое присоединение к электрическим сетям по заявке № {invoice.application_number}"
    grid(
        document,
        [
            ["№", "Наименование работ, услуг", "Кол-во", "Ед.", "Цена, руб.", "Сумма, руб."],
            ["1", service, "1", "усл.", amount, amount],
        ],
        [0.8, 8.2, 1.4, 1.2, 2.7, 2.7],
        header=True,
    )
    paragraph(document, f"Итого: {amount} руб.", bold=True, align="right")
    paragraph(document, vat_text(invoice, payee), bold=True, align="right")
    paragraph(document, f"Всего к оплате: {amount} руб.", bold=True, align="right")
    paragraph(document, f"Всего наименований 1, на сумму {amount} руб.")
    paragraph(document, in_words(invoice.amount_kopecks), bold=True)
    paragraph(document, f"Оплатить до {long_date(invoice.due)} включительно.", bold=True)
    paragraph(document, f"Назначение платежа: {purpose(invoice, payee)}")
    paragraph(document, "В назначении платежа укажите номер заявки: по нему оплата зачитывается.", size=9)
    document.add_paragraph().add_run().add_picture(io.BytesIO(qr_png(payload)), width=Cm(4.5))
    paragraph(document, "QR-код для оплаты в приложении банка (ГОСТ Р 56042-2014)", size=9)
    props = document.core_properties
    props.title = f"Счёт на оплату № {invoice.number}"
    props.subject = f"Заявка № {invoice.application_number}"
    props.author = "Личный кабинет ТП"
    return to_bytes(document)
