"""shared.pdf: a DOCX becomes a PDF by LibreOffice; a missing LibreOffice is a 503 refusal."""

from __future__ import annotations

import shutil

import pytest

from shared import docx as house
from shared import pdf


def _document(text: str) -> bytes:
    document = house.new_document(house.FORM)
    house.paragraph(document, text)
    return house.to_bytes(document)


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (deploy/libreoffice.sh) missing")
def test_a_docx_becomes_a_pdf_with_its_text_and_is_converted_once() -> None:
    source = _document("Заявка № 000123 на технологическое присоединение")
    first = pdf.to_pdf(source)
    assert first.startswith(b"%PDF-")
    assert b"%%EOF" in first[-64:]
    assert pdf.to_pdf(source) is first  # the same document again: from the cache
    assert pdf.to_pdf(_document("Другой документ")) is not first


def test_without_libreoffice_the_refusal_is_503_with_a_russian_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LK_SOFFICE", "/nonexistent/soffice")
    with pytest.raises(pdf.PdfUnavailable) as refused:
        pdf.to_pdf(_document("Документ, которого ещё не было"))
    assert refused.value.status == 503
    assert refused.value.code == "pdf_unavailable"
    assert "DOCX" in refused.value.message
