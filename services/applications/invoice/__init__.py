"""The invoice for the grid-connection fee: the DOCX document with the Russian standard payment
QR code (ГОСТ Р 56042-2014). docs/payments.md tells how payments come back.

A route makes the document in one call::

    invoice_docx(Invoice.of(app.number, app.applicant_name, amount_rub, issued=…, due=…), payee_of(settings))

and answers it with :data:`MEDIA_TYPE` and :func:`filename`.
"""

from __future__ import annotations

from services.applications.invoice.document import MEDIA_TYPE, invoice_docx, long_date, qr_png
from services.applications.invoice.model import (
    Invoice,
    Payee,
    in_words,
    kopecks_of,
    money,
    payee_of,
    payment_fields,
    purpose,
)
from services.applications.invoice.payload import PaymentFields, parse_payload, payment_payload


def filename(invoice: Invoice) -> str:
    """«Счёт № ТП-2026-000123.docx» (a Content-Disposition encodes the non-ASCII part)."""
    return f"Счёт № {invoice.number}.docx"


__all__ = [
    "MEDIA_TYPE",
    "Invoice",
    "Payee",
    "PaymentFields",
    "filename",
    "in_words",
    "invoice_docx",
    "kopecks_of",
    "long_date",
    "money",
    "parse_payload",
    "payee_of",
    "payment_fields",
    "payment_payload",
    "purpose",
    "qr_png",
]
