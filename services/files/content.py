"""What a file is, judged by its bytes: type sniffing, display names (the
Content-Disposition header is shared/content.py's).

Pure functions: the upload path calls them on the first bytes of a stream (archives are
checked whole in ``archives.py``).
"""

from __future__ import annotations

import re
import unicodedata

from shared.errors import Unsupported

# Types allowed for upload, by content. kind -> (content type, extension, Russian name).
TYPES: dict[str, tuple[str, str, str]] = {
    "pdf": ("application/pdf", "pdf", "PDF"),
    "jpeg": ("image/jpeg", "jpg", "JPEG"),
    "png": ("image/png", "png", "PNG"),
    "tiff": ("image/tiff", "tif", "TIFF"),
    "zip": ("application/zip", "zip", "ZIP"),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx", "DOCX"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", "XLSX"),
    "odt": ("application/vnd.oasis.opendocument.text", "odt", "ODT"),
}
DOCX = TYPES["docx"][0]
CONTAINERS = {"zip", "docx", "xlsx", "odt"}
SNIFF_BYTES = 16  # enough for every signature below
NAME_MAX = 200
# Control and invisible formatting characters: never part of a name shown to a person.
CONTROL = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def unsupported() -> Unsupported:
    return Unsupported(
        "unsupported_file_type",
        "Этот тип файла не принимается. Допустимы PDF, JPEG, PNG, TIFF, ZIP, DOCX, XLSX и ODT.",
    )


def printable(text: str) -> bool:
    """No control or invisible formatting character in ``text``."""
    return not any(unicodedata.category(ch) in CONTROL for ch in text)


def without_controls(text: str) -> str:
    """``text`` without control or invisible formatting characters."""
    return "".join(ch for ch in text if unicodedata.category(ch) not in CONTROL)


def sniff(head: bytes) -> str | None:
    """The kind of a file from its first bytes: pdf, jpeg, png, tiff, zip; None otherwise.

    DOCX, XLSX and ODT start as ZIP; :func:`~services.files.archives.inspect_container`
    tells them apart.
    """
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    return None


def clean_name(raw: str, kind: str | None = None) -> str:
    """The name to show and to offer on download: the last path part of what the client
    sent, without control or invisible formatting characters (a right-to-left override
    can make ``evil.exe`` look like ``exe.pdf``), trimmed, at most 200 characters with
    the extension kept. Empty → «файл.<ext>»."""
    name = unicodedata.normalize("NFC", raw)
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(" " if ch in "\t\n\r" else ch for ch in name)
    name = without_controls(name)
    name = re.sub(r"\s+", " ", name).strip(" .")
    if len(name) > NAME_MAX:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            name = stem[: NAME_MAX - len(ext) - 1].rstrip(" .") + "." + ext
        else:
            name = name[:NAME_MAX].rstrip(" .")
    if not name:
        name = "файл" + (f".{TYPES[kind][1]}" if kind in TYPES else "")
    return name
