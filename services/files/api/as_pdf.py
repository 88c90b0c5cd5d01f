"""``?format=pdf``: a generated DOCX (a standard form, a filled-in application, a company
document issued from a form) answered as PDF, converted by LibreOffice (``shared/pdf.py``,
decision record 24). A conversion takes a second or two, so it happens only when PDF is asked
for, and ``shared.pdf`` keeps the last results by the document's hash: a form version, which
never changes, is converted once per process."""

from __future__ import annotations

from pathlib import PurePath
from typing import Annotated, Literal

from fastapi import Query, Response

from shared.content import content_disposition
from shared.pdf import PDF_TYPE, render_pdf

Format = Annotated[
    Literal["docx", "pdf"] | None,
    Query(description="pdf — документ в формате PDF (по умолчанию — как сохранён, DOCX)"),
]
PDF_CONTENT: dict[str, dict[str, str]] = {PDF_TYPE: {}}
# A stored file answers in its own type (no content listed, as before); format=pdf in PDF.
PDF_ANSWER = {"description": "Файл в исходном формате; при format=pdf — документ в формате PDF"}


def pdf_name(name: str) -> str:
    """«Заявка.docx» → «Заявка.pdf»."""
    path = PurePath(name or "документ")
    return f"{path.stem if path.suffix.lower() == '.docx' else path.name}.pdf"


async def pdf_response(docx: bytes, name: str, *, cache: str) -> Response:
    """The PDF of ``docx`` as an attachment named after ``name``; 503 (``pdf_unavailable``)
    without LibreOffice."""
    pdf = await render_pdf(docx)
    return Response(
        pdf,
        media_type=PDF_TYPE,
        headers={
            "content-disposition": content_disposition(pdf_name(name)),
            "x-content-type-options": "nosniff",
            "content-security-policy": "default-src 'none'; sandbox",
            "cache-control": cache,
        },
    )
