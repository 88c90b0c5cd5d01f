"""Archive safety: a ZIP container is checked whole before it is accepted, and told apart
(a plain ZIP, or a DOCX, XLSX or ODT, which are ZIP containers too).

ZIP entry names are judged whole: ``zipfile`` cuts ``ZipInfo.filename`` at a NUL, so the
check reads ``orig_filename``, and every entry's local header must carry the same name as
the central directory (a directory entry's local header is never read by ``zipfile``).
"""

from __future__ import annotations

import contextlib
import re
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from services.files.content import printable
from shared.errors import DomainError, Invalid, TooLarge

ODT_MIMETYPE = b"application/vnd.oasis.opendocument.text"

# Archive limits (the numbers).
MAX_ENTRIES = 1000
MAX_UNPACKED = 200 * 1024 * 1024
MAX_RATIO = 100
# Tiny entries (a few KB of blank XML) legitimately compress better than 100:1; the
# ratio is judged on entries and archives that unpack to more than this.
RATIO_FLOOR = 1024 * 1024


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
    if not name or "\x00" in name or not printable(name):
        return True
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return True
    return ".." in re.split(r"[/\\]", name)


def _refusal(kind: type[DomainError], code: str, message: str) -> Callable[[], DomainError]:
    """A factory of one refusal: every raise gets an error of its own."""
    return lambda: kind(code, message)


archive_corrupt = _refusal(Invalid, "archive_corrupt", "Архив повреждён или не является ZIP-архивом.")
archive_unsafe_path = _refusal(
    Invalid,
    "archive_unsafe_path",
    "В архиве есть файлы с недопустимыми путями (абсолютными или с «..»). Упакуйте папку заново.",
)
archive_too_many = _refusal(
    Invalid,
    "archive_too_many_entries",
    f"В архиве больше {MAX_ENTRIES} файлов и папок: так много не принимается.",
)
archive_too_large = _refusal(
    TooLarge,
    "archive_too_large",
    f"Распакованное содержимое архива больше {MAX_UNPACKED // (1024 * 1024)} МБ.",
)
archive_bomb = _refusal(
    Invalid,
    "archive_compression_suspicious",
    f"Архив сжат подозрительно сильно (более чем в {MAX_RATIO} раз): такие архивы не принимаются.",
)
archive_empty = _refusal(Invalid, "archive_empty", "Архив пуст: в нём нет ни одного файла.")
archive_encrypted = _refusal(
    Invalid, "archive_encrypted", "Архивы с паролем не принимаются: упакуйте файлы без пароля."
)


def inspect_container(path: Path) -> Inspected:
    """Check a ZIP container safely and tell what it is (zip, docx, xlsx or odt).

    Refused: unreadable archives; names that are absolute, climb out with ``..`` or hold a
    NUL or another control character — judged on the whole stored name, and the local
    header of every entry must carry the same name as the central directory; more than
    1,000 entries, more than 200 MB unpacked, a compression ratio above 100 (per entry and
    overall, judged above 1 MB unpacked), encrypted entries. Every entry is then read
    through once (CRC checked; ``zipfile`` never produces more than an entry declares), so
    sizes that lie are caught too. Raises a :class:`~shared.errors.DomainError`.
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
    except DomainError:
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
