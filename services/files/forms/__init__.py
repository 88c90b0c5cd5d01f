"""The standard forms library: texts as data (``library.json``, read by ``specs.py``), one
DOCX builder (``builder.py``) and filling by bookmarks (``filling.py``)."""

from __future__ import annotations

from services.files.forms.builder import build_docx
from services.files.forms.filling import bookmarks_in, fill_docx, today_ru
from services.files.forms.specs import SPECS, SPECS_BY_CODE, FormSpec

__all__ = ["SPECS", "SPECS_BY_CODE", "FormSpec", "bookmarks_in", "build_docx", "fill_docx", "today_ru"]
