"""PDF from the generated DOCX documents, by LibreOffice (``soffice --headless --convert-to
pdf``, Debian's libreoffice-writer-nogui, installed by deploy/libreoffice.sh from ``make
setup``): the forms, the invoice and the application are built once as DOCX and every one of
them can also be downloaded as PDF (decision record 24).

One conversion at a time per process (LibreOffice's profile directory cannot be shared by two
running instances), with the process's own profile; the last few results are kept by the
DOCX's SHA-256, so the same form asked for again is not converted again. Requests wait for
their turn on the event loop, not in worker threads, and past :data:`MAX_WAITING` waiting a
request is refused at once (429): a guest asking for PDFs of filled-in forms in a loop
cannot take the threads that the service's other commands run in.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path

import anyio

from shared.errors import TooMany, Unavailable

PDF_TYPE = "application/pdf"
TIMEOUT = 90.0  # a cold start of LibreOffice with a new profile takes a few seconds
CACHED = 32
MAX_WAITING = 4  # conversions waiting or running in the process; more are refused (429)

_lock = threading.Lock()
_cache: OrderedDict[str, bytes] = OrderedDict()
_turns: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}
_waiting = 0


class PdfUnavailable(Unavailable):
    """LibreOffice is not installed or failed: the DOCX is still there (503)."""

    def __init__(self) -> None:
        super().__init__(
            "pdf_unavailable",
            "PDF сейчас недоступен: скачайте документ в формате DOCX или попробуйте позже.",
        )


def soffice() -> str | None:
    """The LibreOffice command (``LK_SOFFICE`` or ``soffice`` on the PATH)."""
    return os.environ.get("LK_SOFFICE") or shutil.which("soffice")


def _profile() -> Path:
    return Path(tempfile.gettempdir()) / f"lk-soffice-{os.getpid()}"


def _convert(command: str, docx: bytes) -> bytes:
    with tempfile.TemporaryDirectory(prefix="lk-pdf-") as work:
        source = Path(work) / "document.docx"
        source.write_bytes(docx)
        done = subprocess.run(
            [
                command,
                f"-env:UserInstallation={_profile().as_uri()}",
                "--headless",
                "--norestore",
                "--nolockcheck",
                "--convert-to",
                "pdf",
                "--outdir",
                work,
                str(source),
            ],
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
        )
        target = Path(work) / "document.pdf"
        if done.returncode != 0 or not target.exists():
            raise PdfUnavailable()
        return target.read_bytes()


def to_pdf(docx: bytes) -> bytes:
    """The PDF of a DOCX document (blocking: seconds on a cold start). Raises
    :class:`PdfUnavailable` when LibreOffice is missing or fails."""
    key = hashlib.sha256(docx).hexdigest()
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
        command = soffice()
        if command is None:
            raise PdfUnavailable()
        try:
            pdf = _convert(command, docx)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PdfUnavailable() from exc
        _cache[key] = pdf
        while len(_cache) > CACHED:
            _cache.popitem(last=False)
        return pdf


class PdfBusy(TooMany):
    """More PDF conversions waiting than the process takes (429)."""

    def __init__(self) -> None:
        super().__init__(
            "pdf_busy",
            "Сейчас готовится много PDF-документов: повторите через несколько секунд или скачайте DOCX.",
            retry_after=5,
        )


async def render_pdf(docx: bytes) -> bytes:
    """:func:`to_pdf` in a worker thread, one at a time per event loop (not bounded by the
    store's command timeout: a conversion may take longer than a command); refused with
    :class:`PdfBusy` when :data:`MAX_WAITING` are already waiting or running."""
    global _waiting
    if _waiting >= MAX_WAITING:
        raise PdfBusy()
    _waiting += 1
    try:
        turn = _turns.setdefault(asyncio.get_running_loop(), asyncio.Lock())
        async with turn:
            return await anyio.to_thread.run_sync(to_pdf, docx)
    finally:
        _waiting -= 1
