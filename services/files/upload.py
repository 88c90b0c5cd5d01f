"""Receiving one file from a ``multipart/form-data`` request, as a stream.

The body is parsed incrementally from ``request.stream()`` (python-multipart's streaming
parser): the bytes of the ``file`` part go to a blob writer as they arrive, so memory
does not grow with the file, and nothing is spooled by the framework. The type is judged
on the first bytes; a refused type is not stored at all (the rest of the body is read
and dropped, up to the size limit, so the client gets a clean answer). ZIP containers
are checked on a local copy once complete. Whatever goes wrong (too large, refused,
client gone), the writer is aborted: no blob is left.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from services.files.archives import inspect_container
from services.files.content import CONTAINERS, SNIFF_BYTES, TYPES, clean_name, sniff, unsupported
from services.files.storage import BlobInfo, BlobStore, BlobWriter
from services.files.values import Blob
from shared.errors import DomainError, Invalid, Refused, TooLarge, Unsupported

OVERHEAD = 64 * 1024  # multipart headers, boundaries and small text fields
TEXT_FIELD_MAX = 2000
TEXT_FIELDS_MAX = 10
T = TypeVar("T")

Refusal = Callable[[], DomainError]  # errors are made fresh for every raise


def file_required() -> Invalid:
    return Invalid("file_required", "Выберите файл для загрузки.")


def empty_file() -> Invalid:
    return Invalid("empty_file", "Файл пустой: выберите файл с содержимым.")


def multipart_required() -> Unsupported:
    return Unsupported("multipart_required", "Файл передаётся запросом multipart/form-data в поле «file».")


def malformed() -> Refused:
    return Refused("malformed_multipart", "Запрос повреждён: файл передан не полностью.")


def too_large(max_bytes: int) -> TooLarge:
    return TooLarge(
        "file_too_large", f"Файл больше {max_bytes / (1024 * 1024):g} МБ: такие файлы не принимаются."
    )


@dataclass
class Received:
    """A complete, checked file in a blob writer that is finished but not committed."""

    writer: BlobWriter
    name: str
    kind: str
    info: BlobInfo
    entries: list[dict[str, Any]] | None
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def content_type(self) -> str:
        return TYPES[self.kind][0]

    async def keep(self, record: Callable[[Blob], Awaitable[T]]) -> T:
        """Commit the bytes, then ``record`` them as a file; if recording fails, they go too."""
        try:
            key = await self.writer.commit()
            blob = Blob(
                key, self.info.size, self.info.sha256, self.content_type, self.kind, self.name, self.entries
            )
            return await record(blob)
        except BaseException:
            await self.writer.abort()
            raise


_ESCAPED = re.compile(r"%(22|[01][0-9A-Fa-f])")


def _filename(raw: bytes) -> str:
    """Clients send the name as raw UTF-8 with ``"`` and control characters percent-encoded
    (HTML's form encoding); they are decoded here and the controls dropped later."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text)


class _Receiver:
    def __init__(
        self, store: BlobStore, max_bytes: int, allowed: set[str], field_name: str, unsupported: Refusal
    ) -> None:
        self.store = store
        self.unsupported = unsupported
        self.max_bytes = max_bytes
        self.allowed = allowed
        self.field_name = field_name
        self.body = 0
        self.size = 0
        self.head = bytearray()
        self.kind: str | None = None
        self.refused = False
        self.writer: BlobWriter | None = None
        self.filename = ""
        self.got_file = False
        self.fields: dict[str, str] = {}
        # the part being parsed
        self.role = "skip"
        self.text = bytearray()
        self.text_name = ""
        self.headers: dict[bytes, bytes] = {}
        self.header_field = bytearray()
        self.header_value = bytearray()

    # parser events --------------------------------------------------------------------------
    async def event(self, kind: str, data: bytes) -> None:
        if kind == "data":
            if self.role == "file":
                await self.file_data(data)
            elif self.role == "text" and len(self.text) < TEXT_FIELD_MAX:
                self.text += data[: TEXT_FIELD_MAX - len(self.text)]
        elif kind == "header_field":
            self.header_field += data
        elif kind == "header_value":
            self.header_value += data
        elif kind == "header_end":
            self.headers[bytes(self.header_field).lower()] = bytes(self.header_value)
            self.header_field.clear()
            self.header_value.clear()
        elif kind == "headers_finished":
            self.start_part()
        elif kind == "part_end":
            await self.end_part()
        elif kind == "part_begin":
            self.headers = {}
            self.role = "skip"

    def start_part(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("latin-1")
        if b"filename" in options:
            if name == self.field_name and not self.got_file:
                self.role = "file"
                self.filename = _filename(options[b"filename"])
        elif len(self.fields) < TEXT_FIELDS_MAX:
            self.role = "text"
            self.text = bytearray()
            self.text_name = name

    async def end_part(self) -> None:
        if self.role == "file":
            self.got_file = True
            if self.kind is None and not self.refused and self.head:
                await self.decide()
        elif self.role == "text":
            self.fields[self.text_name] = self.text.decode("utf-8", "replace")
        self.role = "skip"

    async def file_data(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.max_bytes:
            raise too_large(self.max_bytes)
        if self.refused:
            return  # drained, not stored
        if self.writer is not None:
            await self.writer.write(data)
            return
        self.head += data
        if len(self.head) >= SNIFF_BYTES:
            await self.decide()

    async def decide(self) -> None:
        kind = sniff(bytes(self.head[:SNIFF_BYTES]))
        if kind is None or not (kind in self.allowed or (kind == "zip" and self.allowed & CONTAINERS)):
            self.refused = True
            self.head.clear()
            return
        self.kind = kind
        self.writer = self.store.writer(content_type=TYPES[kind][0], keep_local=kind == "zip")
        head, self.head = bytes(self.head), bytearray()
        await self.writer.write(head)

    # the whole request ----------------------------------------------------------------------------
    async def receive(self, request: Request) -> Received:
        content_type = request.headers.get("content-type", "")
        ctype, params = parse_options_header(content_type.encode("latin-1", "replace"))
        boundary = params.get(b"boundary")
        if ctype != b"multipart/form-data" or not boundary:
            raise multipart_required()
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes + OVERHEAD:
            raise too_large(self.max_bytes)

        events: list[tuple[str, bytes]] = []

        def on(kind: str) -> Any:
            return lambda: events.append((kind, b""))

        def on_data(kind: str) -> Any:
            return lambda data, start, end: events.append((kind, data[start:end]))

        callbacks: Any = {
            "on_part_begin": on("part_begin"),
            "on_part_data": on_data("data"),
            "on_part_end": on("part_end"),
            "on_header_field": on_data("header_field"),
            "on_header_value": on_data("header_value"),
            "on_header_end": on("header_end"),
            "on_headers_finished": on("headers_finished"),
        }
        try:
            parser = MultipartParser(boundary, callbacks)
        except (MultipartParseError, ValueError):
            raise malformed() from None
        try:
            async for chunk in request.stream():
                self.body += len(chunk)
                if self.body > self.max_bytes + OVERHEAD:
                    raise too_large(self.max_bytes)
                parser.write(chunk)
                for kind, data in events:
                    await self.event(kind, data)
                events.clear()
            parser.finalize()
        except MultipartParseError:
            raise malformed() from None
        return await self.complete()

    async def complete(self) -> Received:
        if not self.got_file:
            raise file_required()
        if self.size == 0:
            raise empty_file()
        if self.refused or self.writer is None or self.kind is None:
            raise self.unsupported()
        info = await self.writer.finish()
        kind, entries = self.kind, None
        if kind == "zip":
            local = self.writer.local_copy()
            assert local is not None
            inspected = await self.store.run(inspect_container, local)
            kind, entries = inspected.kind, inspected.entries
        if kind not in self.allowed:
            raise self.unsupported()
        return Received(self.writer, clean_name(self.filename, kind), kind, info, entries, self.fields)

    async def abort(self) -> None:
        if self.writer is not None:
            await self.writer.abort()


async def receive_file(
    request: Request,
    store: BlobStore,
    *,
    max_bytes: int,
    allowed: set[str] | None = None,
    field_name: str = "file",
    unsupported: Refusal = unsupported,
) -> Received:
    """Stream the request's ``field_name`` part into ``store``; raises a domain error
    (413, 415, 422, 400) or ``ClientDisconnect`` after removing what was written."""
    receiver = _Receiver(store, max_bytes, set(allowed or TYPES), field_name, unsupported)
    try:
        return await receiver.receive(request)
    except BaseException:
        await receiver.abort()
        raise
