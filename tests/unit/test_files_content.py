"""Type sniffing, display names, Content-Disposition and the archive checks of the files service."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from urllib.parse import unquote

import pytest

from services.files.archives import MAX_ENTRIES, inspect_container
from services.files.content import clean_name, sniff
from shared.content import ascii_fallback, content_disposition
from shared.errors import DomainError


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"%PDF-1.7\n%\xe2\xe3", "pdf"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "png"),
        (b"II*\x00\x08\x00\x00\x00", "tiff"),
        (b"MM\x00*\x00\x00\x00\x08", "tiff"),
        (b"PK\x03\x04\x14\x00\x00\x00", "zip"),
        (b"PK\x05\x06" + b"\x00" * 18, "zip"),
    ],
)
def test_sniff_knows_the_allowed_types(head: bytes, kind: str) -> None:
    assert sniff(head) == kind


@pytest.mark.parametrize(
    "head",
    [
        b"MZ\x90\x00\x03\x00\x00\x00",  # a Windows executable, whatever its name says
        b"\x7fELF\x02\x01\x01\x00",
        b"#!/bin/sh\nrm -rf /",
        b"<html><script>",
        b"GIF89a\x01\x00",
        b" %PDF-1.7",  # the signature must open the file
        b"",
    ],
)
def test_sniff_refuses_everything_else(head: bytes) -> None:
    assert sniff(head) is None


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Заявка на ТП.pdf", "Заявка на ТП.pdf"),
        ("C:\\Users\\Иван\\Документы\\план участка.pdf", "план участка.pdf"),
        ("../../etc/passwd", "passwd"),
        ("/абсолютный/путь/скан.png", "скан.png"),
        ("отчёт\x00\x07\x1b.pdf", "отчёт.pdf"),
        ("счёт\u202efdp.exe", "счётfdp.exe"),  # no right-to-left override trick
        ("  много   пробелов\tи\nтабов.pdf  ", "много пробелов и табов.pdf"),
        ("...", "файл.pdf"),
        ("", "файл.pdf"),
    ],
)
def test_clean_name(raw: str, clean: str) -> None:
    assert clean_name(raw, "pdf") == clean


def test_clean_name_keeps_the_extension_of_a_long_name() -> None:
    name = clean_name("я" * 500 + ".docx", "docx")
    assert len(name) <= 200 and name.endswith(".docx")


def test_content_disposition_carries_the_russian_name() -> None:
    header = content_disposition('Договор "ТП" №1.docx')
    assert header.startswith("attachment; ")
    fallback = header.split('filename="')[1].split('"')[0]
    assert fallback.isascii() and fallback.endswith(".docx") and '"' not in fallback
    encoded = header.split("filename*=UTF-8''")[1]
    assert " " not in encoded and unquote(encoded) == 'Договор "ТП" №1.docx'
    assert ascii_fallback("Заявка.pdf") == "Zaiavka.pdf"


# archives --------------------------------------------------------------------------------------
def _zip(tmp_path: Path, entries: dict[str, bytes], *, name: str = "a.zip") -> Path:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry, data in entries.items():
            archive.writestr(entry, data)
    return path


def _refused(path: Path) -> DomainError:
    with pytest.raises(DomainError) as caught:
        inspect_container(path)
    return caught.value


def test_a_good_archive_is_listed(tmp_path: Path) -> None:
    path = _zip(
        tmp_path, {"папка/план.pdf": b"%PDF-1.4 plan", "папка/скан.jpg": b"\xff\xd8\xff" + b"x" * 100}
    )
    inspected = inspect_container(path)
    assert inspected.kind == "zip"
    assert inspected.entries == [
        {"name": "папка/план.pdf", "size": 13},
        {"name": "папка/скан.jpg", "size": 103},
    ]


def test_cp866_names_of_russian_windows_archives(tmp_path: Path) -> None:
    # Archives made on Russian Windows store names in CP866 without the UTF-8 flag.
    name = "план.txt".encode("cp866")
    path = tmp_path / "win.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(zipfile.ZipInfo("p" * len(name)), b"data")
    path.write_bytes(path.read_bytes().replace(b"p" * len(name), name))
    assert inspect_container(path).entries == [{"name": "план.txt", "size": 4}]


@pytest.mark.parametrize(
    "entry", ["../evil.sh", "a/../../evil.sh", "/etc/cron.d/x", "\\windows\\x.dll", "C:/x.bat"]
)
def test_traversal_is_refused(tmp_path: Path, entry: str) -> None:
    error = _refused(_zip(tmp_path, {"ok.txt": b"fine", entry: b"boom"}))
    assert (error.status, error.code) == (422, "archive_unsafe_path")
    assert "«..»" in error.message


def nul_archive(tmp_path: Path) -> Path:
    """``a.txt\x00.pdf``: ``zipfile`` shows it as ``a.txt`` (``ZipInfo.filename`` is cut at
    the NUL); the stored name, in both headers, is the whole of it."""
    path = tmp_path / "nul.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("ok.pdf", b"%PDF-1.4 ok")
        archive.writestr("a.txtX.pdf", b"text, or is it")
    raw = path.read_bytes()
    assert raw.count(b"a.txtX.pdf") == 2  # the local header and the central directory
    path.write_bytes(raw.replace(b"a.txtX.pdf", b"a.txt\x00.pdf"))
    return path


def test_a_nul_in_an_entry_name_is_refused(tmp_path: Path) -> None:
    path = nul_archive(tmp_path)
    with zipfile.ZipFile(path) as archive:
        names = [(i.filename, i.orig_filename) for i in archive.infolist()]
    assert names[1] == ("a.txt", "a.txt\x00.pdf")  # what the check used to see
    error = _refused(path)
    assert (error.status, error.code) == (422, "archive_unsafe_path")


def test_a_local_header_must_name_the_entry_as_the_central_directory_does(tmp_path: Path) -> None:
    # zipfile reads a local header only to extract a file, and compares the names then; a
    # directory entry is never opened, so a streaming extractor's name for it went unchecked.
    path = tmp_path / "two-names.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("ok.pdf", b"%PDF-1.4 ok")
        archive.writestr(zipfile.ZipInfo("documents/"), b"")
    raw = path.read_bytes()
    local = raw.index(b"documents/")
    path.write_bytes(raw[:local] + b"../../etc/" + raw[local + len(b"documents/") :])
    with zipfile.ZipFile(path) as archive:
        assert [i.filename for i in archive.infolist()] == ["ok.pdf", "documents/"]
    assert _refused(path).code == "archive_unsafe_path"
    # The same trick on a file is caught by zipfile itself when the entry is read through.
    path = _zip(tmp_path, {"ok.pdf": b"%PDF-1.4 ok", "plan.pdf": b"%PDF-1.4 plan"}, name="file.zip")
    raw = path.read_bytes()
    local = raw.index(b"plan.pdf")
    path.write_bytes(raw[:local] + b"../a.pdf" + raw[local + len(b"plan.pdf") :])
    assert _refused(path).code in ("archive_unsafe_path", "archive_corrupt")


def test_too_many_entries(tmp_path: Path) -> None:
    error = _refused(_zip(tmp_path, {f"f{i}.txt": b"x" for i in range(MAX_ENTRIES + 1)}))
    assert (error.status, error.code) == (422, "archive_too_many_entries")
    assert inspect_container(_zip(tmp_path, {f"f{i}.txt": b"x" for i in range(MAX_ENTRIES)}, name="b.zip"))


def test_zip_bomb_by_ratio(tmp_path: Path) -> None:
    error = _refused(_zip(tmp_path, {"zeros.bin": bytes(20 * 1024 * 1024)}))
    assert (error.status, error.code) == (422, "archive_compression_suspicious")


def test_more_than_200_mb_unpacked(tmp_path: Path) -> None:
    # Random-ish data compresses poorly, so only the total trips: declared sizes, no I/O of 200 MB.
    path = tmp_path / "big.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("small.txt", b"x")
    raw = bytearray(path.read_bytes())
    # Patch the central directory's uncompressed size of the entry to 201 MB (a lying header).
    central = raw.rindex(b"PK\x01\x02")
    raw[central + 24 : central + 28] = (201 * 1024 * 1024).to_bytes(4, "little")
    path.write_bytes(bytes(raw))
    error = _refused(path)
    assert (error.status, error.code) == (413, "archive_too_large")


def test_lying_sizes_are_caught_by_reading_through(tmp_path: Path) -> None:
    path = _zip(tmp_path, {"data.txt": b"a" * 5000})
    raw = bytearray(path.read_bytes())
    central = raw.rindex(b"PK\x01\x02")
    raw[central + 24 : central + 28] = (10).to_bytes(4, "little")  # declares 10 bytes, holds 5000
    path.write_bytes(bytes(raw))
    assert _refused(path).code == "archive_corrupt"


def test_encrypted_and_corrupt_archives(tmp_path: Path) -> None:
    path = _zip(tmp_path, {"a.txt": b"x" * 100})
    raw = bytearray(path.read_bytes())
    central = raw.rindex(b"PK\x01\x02")
    raw[central + 8] |= 0x1  # the "encrypted" flag
    path.write_bytes(bytes(raw))
    assert _refused(path).code == "archive_encrypted"
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    assert _refused(broken).code == "archive_corrupt"
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w"):
        pass
    assert _refused(empty).code == "archive_empty"


def test_office_documents_are_told_apart(tmp_path: Path) -> None:
    docx = _zip(tmp_path, {"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>"}, name="d.zip")
    xlsx = _zip(tmp_path, {"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<x/>"}, name="x.zip")
    pptx = _zip(tmp_path, {"[Content_Types].xml": b"<Types/>", "ppt/slide.xml": b"<p/>"}, name="p.zip")
    odt = tmp_path / "o.zip"
    with zipfile.ZipFile(odt, "w") as archive:
        archive.writestr("mimetype", b"application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", b"<office/>")
    assert inspect_container(docx).kind == "docx" and inspect_container(docx).entries is None
    assert inspect_container(xlsx).kind == "xlsx"
    assert inspect_container(odt).kind == "odt"
    assert inspect_container(pptx).kind == "zip"  # a plain archive to us, listed


def test_an_office_document_can_be_a_bomb_too(tmp_path: Path) -> None:
    bomb = _zip(tmp_path, {"[Content_Types].xml": b"<Types/>", "word/document.xml": bytes(30 * 1024 * 1024)})
    assert _refused(bomb).code == "archive_compression_suspicious"


def test_python_docx_output_is_a_docx(tmp_path: Path) -> None:
    from docx import Document

    buffer = io.BytesIO()
    Document().save(buffer)
    path = tmp_path / "real.docx"
    path.write_bytes(buffer.getvalue())
    assert sniff(buffer.getvalue()[:16]) == "zip" and inspect_container(path).kind == "docx"
