"""shared.pdf: a DOCX becomes a PDF by LibreOffice; a missing LibreOffice is a 503 refusal."""

from __future__ import annotations

import asyncio
import shutil
import threading

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


async def test_past_the_waiting_limit_a_request_is_refused_at_once_not_queued_in_a_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started, release = threading.Event(), threading.Event()

    def slow(docx: bytes) -> bytes:
        started.set()
        release.wait(10)
        return b"%PDF-1.7 " + docx[:4]

    monkeypatch.setattr(pdf, "to_pdf", slow)
    waiting = [asyncio.create_task(pdf.render_pdf(b"doc%d" % n)) for n in range(pdf.MAX_WAITING)]
    await asyncio.to_thread(started.wait, 10)
    with pytest.raises(pdf.PdfBusy) as refused:
        await pdf.render_pdf(b"one too many")
    assert (refused.value.status, refused.value.code, refused.value.retry_after) == (429, "pdf_busy", 5)
    release.set()
    assert [await task for task in waiting] == [b"%%PDF-1.7 doc%d" % n for n in range(pdf.MAX_WAITING)]
    assert (await pdf.render_pdf(b"next")).startswith(b"%PDF")  # the turns are free again
