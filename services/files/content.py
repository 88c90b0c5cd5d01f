"""What a file is, judged by its bytes: type sniffing, display names, archive safety.

Pure functions, no I/O beyond reading a local file: the upload path calls them on the
first bytes of a stream and, for ZIP containers, on a local copy of the whole file.
"""

from __future__ import annotations

import contextlib
import re
import struct
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from shared.http import ApiError

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
CONTAINERS = {"zip", "docx", "xlsx", "odt"}
SNIFF_BYTES = 16  # enough for every signature below

ODT_MIMETYPE = b"application/vnd.oasis.opendocument.text"

# Archive limits (the numbers).
MAX_ENTRIES = 1000
MAX_UNPACKED = 200 * 1024 * 1024
MAX_RATIO = 100
# Tiny entries (a few KB of blank XML) legitimately compress better than 100:1; the
# ratio is judged on entries and archives that unpack to more than this.
RATIO_FLOOR = 1024 * 1024
NAME_MAX = 200


def unsupported() -> ApiError:
    return ApiError(
        415,
        "unsupported_file_type",
        "Этот тип файла не принимается. Допустимы PDF, JPEG, PNG, TIFF, ZIP, DOCX, XLSX и ODT.",
    )


def sniff(head: bytes) -> str | None:
    """The kind of a file from its first bytes: pdf, jpeg, png, tiff, zip; None otherwise.

    DOCX, XLSX and ODT start as ZIP; :func:`inspect_container` tells them apart.
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


_CONTROL = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def clean_name(raw: str, kind: str | None = None) -> str:
    """The name to show and to offer on download: the last path part of what the client
    sent, without control or invisible formatting characters (a right-to-left override
    can make ``evil.exe`` look like ``exe.pdf``), trimmed, at most 200 characters with
    the extension kept. Empty → «файл.<ext>»."""
    name = unicodedata.normalize("NFC", raw)
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(" " if ch in "\t\n\r" else ch for ch in name)
    name = "".join(ch for ch in name if unicodedata.category(ch) not in _CONTROL)
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
    from urllib.parse import quote

    return f"{disposition}; filename=\"{ascii_fallback(name)}\"; filename*=UTF-8''{quote(name, safe='')}"


# archives ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Inspected:
    kind: str
    entries: list[dict[str, Any]] | None  # listing for a plain ZIP; None for office documents


def _raw_name(info: zipfile.ZipInfo) -> bytes:
    """The entry's name exactly as the central directory stores it. ``ZipInfo.filename`` is
    cut at the first NUL (``a.txt\x00.pdf`` becomes ``a.txt``); ``orig_filename`` is not,
    and ``zipfile`` decoded it from these bytes as UTF-8 (flag 0x800) or CP437 (one byte
    per character), so encoding it back gives them again."""
    return info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437")


def _decoded(raw: bytes, utf8: bool) -> str:
    """A stored name as the user meant it: archives made on Russian Windows use CP866
    without the UTF-8 flag (``zipfile`` would show them as CP437)."""
    if utf8:
        return raw.decode("utf-8")
    text = raw.decode("cp437")
    if not text.isascii():
        with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
            text = raw.decode("cp866")
    return text


def _entry_name(info: zipfile.ZipInfo) -> str:
    """The entry's real, whole name (NULs and all: never the truncated ``filename``)."""
    return _decoded(_raw_name(info), bool(info.flag_bits & 0x800))


_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature … name length, extra length


def _local_name(handle: BinaryIO, info: zipfile.ZipInfo) -> bytes:
    """The name in the entry's local header: what a streaming extractor goes by, and a
    directory entry's local header is never read by ``zipfile`` itself."""
    handle.seek(info.header_offset)
    head = handle.read(_LOCAL_HEADER.size)
    if len(head) != _LOCAL_HEADER.size:
        raise archive_corrupt()
    signature, length, _ = _LOCAL_HEADER.unpack(head)
    if signature != b"PK\x03\x04":
        raise archive_corrupt()
    name = handle.read(length)
    if len(name) != length:
        raise archive_corrupt()
    return name


def _unsafe(name: str) -> bool:
    if not name or "\x00" in name or any(unicodedata.category(ch) in _CONTROL for ch in name):
        return True
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return True
    return ".." in re.split(r"[/\\]", name)


def _refusal(status: int, code: str, message: str) -> Callable[[], ApiError]:
    """A factory of one refusal: every raise gets an error of its own."""
    return lambda: ApiError(status, code, message)


archive_corrupt = _refusal(422, "archive_corrupt", "Архив повреждён или не является ZIP-архивом.")
archive_unsafe_path = _refusal(
    422,
    "archive_unsafe_path",
    "В архиве есть файлы с недопустимыми путями (абсолютными или с «..»). Упакуйте папку заново.",
)
archive_too_many = _refusal(
    422,
    "archive_too_many_entries",
    f"В архиве больше {MAX_ENTRIES} файлов и папок: так много не принимается.",
)
archive_too_large = _refusal(
    413,
    "archive_too_large",
    f"Распакованное содержимое архива больше {MAX_UNPACKED // (1024 * 1024)} МБ.",
)
archive_bomb = _refusal(
    422,
    "archive_compression_suspicious",
    f"Архив сжат подозрительно сильно (более чем в {MAX_RATIO} раз): такие архивы не принимаются.",
)
archive_empty = _refusal(422, "archive_empty", "Архив пуст: в нём нет ни одного файла.")
archive_encrypted = _refusal(
    422, "archive_encrypted", "Архивы с паролем не принимаются: упакуйте файлы без пароля."
)


def inspect_container(path: Path) -> Inspected:
    """Check a ZIP container safely and tell what it is (zip, docx, xlsx or odt).

    Refused: unreadable archives; names that are absolute, climb out with ``..`` or hold a
    NUL or another control character — judged on the whole stored name, and the local
    header of every entry must carry the same name as the central directory; more than
    1,000 entries, more than 200 MB unpacked, a compression ratio above 100 (per entry and
    overall, judged above 1 MB unpacked), encrypted entries. Every entry is then read
    through once (CRC checked; ``zipfile`` never produces more than an entry declares), so
    sizes that lie are caught too. Raises :class:`ApiError`.
    """
    try:
        with zipfile.ZipFile(path) as archive, path.open("rb") as headers:
            infos = archive.infolist()
            if len(infos) > MAX_ENTRIES:
                raise archive_too_many()
            names = [_entry_name(i) for i in infos]
            if any(_unsafe(n) for n in names):
                raise archive_unsafe_path()
            for info in infos:
                if _local_name(headers, info) != _raw_name(info):
                    raise archive_unsafe_path()  # two names for one entry: which one is real?
            if any(i.flag_bits & 0x1 for i in infos):
                raise archive_encrypted()
            total = sum(i.file_size for i in infos)
            packed = sum(i.compress_size for i in infos)
            if total > MAX_UNPACKED:
                raise archive_too_large()
            for info in infos:
                if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                    raise archive_bomb()
            if total > RATIO_FLOOR and total > MAX_RATIO * max(packed, 1):
                raise archive_bomb()
            for info in infos:
                if info.is_dir():
                    continue
                with archive.open(info) as member:
                    while member.read(1024 * 1024):
                        pass
            kind = _container_kind(archive, set(names))
    except ApiError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError, ValueError):
        raise archive_corrupt() from None
    if kind != "zip":
        return Inspected(kind, None)
    if all(info.is_dir() for info in infos):
        raise archive_empty()
    listing = [
        {"name": name, "size": info.file_size}
        for name, info in zip(names, infos, strict=True)
        if not info.is_dir()
    ]
    return Inspected("zip", listing)


def _container_kind(archive: zipfile.ZipFile, names: set[str]) -> str:
    if "[Content_Types].xml" in names:
        if any(n.startswith("word/") for n in names):
            return "docx"
        if any(n.startswith("xl/") for n in names):
            return "xlsx"
    if "mimetype" in names and "content.xml" in names:
        info = archive.getinfo("mimetype")
        if info.file_size <= 100 and archive.read(info).strip() == ODT_MIMETYPE:
            return "odt"
    return "zip"
