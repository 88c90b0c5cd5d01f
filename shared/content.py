"""The ``Content-Disposition`` of a download with a Russian file name (RFC 6266 with the
RFC 5987 ``filename*``), one implementation for every service that answers a file: the files
service's downloads and filled-in forms, the applications' invoice."""

from __future__ import annotations

import unicodedata
from urllib.parse import quote


def ascii_fallback(name: str) -> str:
    """An ASCII stand-in for old clients (RFC 6266 ``filename=``): Latin letters kept,
    the rest transliterated or replaced by ``_``."""
    out = []
    for ch in unicodedata.normalize("NFKD", name):
        if ord(ch) < 128:
            out.append(ch if ch.isprintable() and ch not in '"\\;' else "_")
        elif ch.lower() in _TRANSLIT:
            t = _TRANSLIT[ch.lower()]
            out.append(t.capitalize() if ch.isupper() else t)
        elif unicodedata.category(ch) != "Mn":
            out.append("_")
    return "".join(out) or "file"


_TRANSLIT = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        [
            "a",
            "b",
            "v",
            "g",
            "d",
            "e",
            "e",
            "zh",
            "z",
            "i",
            "i",
            "k",
            "l",
            "m",
            "n",
            "o",
            "p",
            "r",
            "s",
            "t",
            "u",
            "f",
            "kh",
            "ts",
            "ch",
            "sh",
            "shch",
            "_",
            "y",
            "_",
            "e",
            "iu",
            "ia",
        ],
        strict=True,
    )
)


def content_disposition(name: str, disposition: str = "attachment") -> str:
    """``attachment; filename="ascii"; filename*=UTF-8''percent-encoded`` (RFC 6266, 5987)."""
    return f"{disposition}; filename=\"{ascii_fallback(name)}\"; filename*=UTF-8''{quote(name, safe='')}"
