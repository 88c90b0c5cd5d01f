"""The blob store port and its two adapters.

- :class:`LocalBlobStore` (embedded default): a folder under ``var/files``. A blob is
  written to ``tmp/``, fsynced, and renamed to ``blobs/<aa>/<sha256>``: content-addressed,
  so the same bytes are stored once, and a rename is atomic, so a half-written blob is
  never visible.
- :class:`S3BlobStore` (real stack): an S3-compatible server through the ``minio`` SDK.
  S3 has no rename (a server-side copy would cost a second full write), so each blob goes
  once to a fresh key ``<prefix>blobs/<uuid>`` as a streaming upload of unknown length
  (multipart, 10 MB parts; a single PUT below one part). An object appears only when the upload completes, and is
  referenced only once the ``FileUploaded`` event is saved; an aborted upload is aborted
  on the server, a refused one deleted.

The SDK and file I/O are blocking: they run on the store's own thread pool (never the
event loop, and never the default executor that the rest of the process relies on).
Bytes cross between the loop and those threads in bounded buffers, so memory per
transfer stays at a few parts whatever the file size.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import hashlib
import os
import threading
import uuid
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import AsyncGenerator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, TypeVar, cast

import structlog

from shared.settings import Settings

log = structlog.get_logger(__name__)

CHUNK = 1024 * 1024
READ_CHUNK = 4 * 1024 * 1024
PART_SIZE = 10 * 1024 * 1024
MAX_THREADS = 32
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

T = TypeVar("T")


def return_large_buffers_to_the_os(threshold: int = CHUNK) -> bool:
    """Serve every allocation of ``threshold`` bytes or more with its own mapping (glibc).

    Transfers allocate buffers of 1–10 MB, partly in worker threads. glibc's default
    threshold rises to the largest buffer freed so far; buffers below it then come from
    per-thread heaps that keep their pages after ``free``, so the process would keep tens
    of MB it no longer uses. A fixed threshold returns them at once. Elsewhere: no-op."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        m_mmap_threshold = -3
        return bool(libc.mallopt(m_mmap_threshold, threshold))
    except (OSError, AttributeError):
        return False


class StorageUnavailable(Exception):
    """The blob store could not take or give bytes right now."""


@dataclass(frozen=True)
class BlobInfo:
    size: int
    sha256: str


class BlobWriter(ABC):
    """One blob being written: ``write``… then ``finish`` (all bytes durable, not yet
    visible), then ``commit`` (visible under the returned key). ``abort`` at any point
    before ``commit`` leaves nothing behind."""

    @abstractmethod
    async def write(self, data: bytes) -> None: ...

    @abstractmethod
    async def finish(self) -> BlobInfo: ...

    @abstractmethod
    async def commit(self) -> str: ...

    @abstractmethod
    async def abort(self) -> None: ...

    @abstractmethod
    def local_copy(self) -> Path | None:
        """After ``finish``: a local file with the same bytes (when ``keep_local`` was asked)."""


class BlobStore(ABC):
    def __init__(self, tmp_dir: Path) -> None:
        self.tmp_dir = tmp_dir
        self._executor = ThreadPoolExecutor(MAX_THREADS, thread_name_prefix="blobs")

    async def start(self) -> None:
        """Prepare the store; leftovers of a crashed process in ``tmp/`` are removed."""
        await self.run(self._start_sync)

    def _start_sync(self) -> None:
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        for leftover in self.tmp_dir.iterdir():
            with contextlib.suppress(OSError):
                leftover.unlink()

    async def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def tmp_path(self) -> Path:
        return self.tmp_dir / f"{uuid.uuid4().hex}.part"

    async def ping(self) -> None:
        """Raises unless the store answers (for readiness)."""
        await self.run(self._ping_sync)

    @abstractmethod
    def _ping_sync(self) -> None: ...

    @abstractmethod
    def writer(self, *, content_type: str, keep_local: bool = False) -> BlobWriter: ...

    @abstractmethod
    def read(self, key: str) -> AsyncGenerator[bytes, None]:
        """The blob's bytes in chunks; the next chunk is read while this one is sent."""

    async def read_bytes(self, key: str) -> bytes:
        """A small blob (a form template) in memory."""
        return b"".join([chunk async for chunk in self.read(key)])

    async def put_bytes(self, data: bytes, content_type: str) -> tuple[str, BlobInfo]:
        writer = self.writer(content_type=content_type)
        try:
            for start in range(0, len(data), CHUNK):
                await writer.write(data[start : start + CHUNK])
            info = await writer.finish()
            return await writer.commit(), info
        except BaseException:
            await writer.abort()
            raise

    async def _read_ahead(
        self, read: Callable[[], bytes], close: Callable[[], None]
    ) -> AsyncGenerator[bytes, None]:
        """Chunks from a blocking ``read``; ``close`` runs once the last read has returned."""
        loop = asyncio.get_running_loop()
        lock = threading.Lock()  # close waits for a read still running in a thread

        def locked_read() -> bytes:
            with lock:
                return read()

        def locked_close() -> None:
            with lock:
                close()

        pending = loop.run_in_executor(self._executor, locked_read)
        try:
            while True:
                chunk = await pending
                if not chunk:
                    return
                pending = loop.run_in_executor(self._executor, locked_read)
                yield chunk
        except Exception as exc:
            raise StorageUnavailable(str(exc)) from exc
        finally:
            pending.add_done_callback(lambda f: f.cancelled() or f.exception())
            try:
                self._executor.submit(locked_close)
            except RuntimeError:  # shutting down
                locked_close()


# local folder ----------------------------------------------------------------------------------
class LocalBlobStore(BlobStore):
    def __init__(self, root: Path) -> None:
        super().__init__(root / "tmp")
        self.root = root
        self.blobs = root / "blobs"

    def _start_sync(self) -> None:
        super()._start_sync()
        self.blobs.mkdir(parents=True, exist_ok=True)

    def _ping_sync(self) -> None:
        if not self.blobs.is_dir():
            raise FileNotFoundError(self.blobs)

    def path_of(self, key: str) -> Path:
        if len(key) != 64 or not all(c in "0123456789abcdef" for c in key):
            raise KeyError(key)
        return self.blobs / key[:2] / key

    def writer(self, *, content_type: str, keep_local: bool = False) -> BlobWriter:
        return _LocalWriter(self)

    def read(self, key: str) -> AsyncGenerator[bytes, None]:
        path = self.path_of(key)

        async def chunks() -> AsyncGenerator[bytes, None]:
            try:
                fh = await self.run(lambda: path.open("rb"))
            except OSError as exc:
                raise StorageUnavailable(str(exc)) from exc
            async for chunk in self._read_ahead(lambda: fh.read(READ_CHUNK), fh.close):
                yield chunk

        return chunks()

    def keys(self) -> list[str]:
        return sorted(p.name for p in self.blobs.glob("*/*"))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _LocalWriter(BlobWriter):
    def __init__(self, store: LocalBlobStore) -> None:
        self.store = store
        self.tmp = store.tmp_path()
        self._fh: BinaryIO | None = None
        self._buffer = bytearray()
        self._hasher = hashlib.sha256()
        self._size = 0
        self._info: BlobInfo | None = None

    async def write(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) >= CHUNK:
            await self._flush()

    async def _flush(self) -> None:
        if self._buffer:
            data = bytes(self._buffer)
            self._buffer.clear()
            await self.store.run(self._write_sync, data)

    def _write_sync(self, data: bytes) -> None:
        if self._fh is None:
            self._fh = self.tmp.open("xb")
        self._fh.write(data)
        self._hasher.update(data)
        self._size += len(data)

    def _finish_sync(self) -> BlobInfo:
        if self._fh is None:
            self._fh = self.tmp.open("xb")
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        return BlobInfo(self._size, self._hasher.hexdigest())

    async def finish(self) -> BlobInfo:
        await self._flush()
        self._info = await self.store.run(self._finish_sync)
        return self._info

    def _commit_sync(self, key: str) -> None:
        final = self.store.path_of(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            self.tmp.unlink()  # the same bytes are stored already
            return
        os.replace(self.tmp, final)
        _fsync_dir(final.parent)

    async def commit(self) -> str:
        assert self._info is not None, "finish() first"
        key = self._info.sha256
        await self.store.run(self._commit_sync, key)
        return key

    def _abort_sync(self) -> None:
        if self._fh is not None:
            self._fh.close()
        self.tmp.unlink(missing_ok=True)

    async def abort(self) -> None:
        # A committed content-addressed blob is never removed: another file may share it.
        await self.store.run(self._abort_sync)

    def local_copy(self) -> Path | None:
        return self.tmp if self._info is not None else None


# S3 -----------------------------------------------------------------------------------------------
class S3BlobStore(BlobStore):
    def __init__(self, settings: Settings) -> None:
        from minio import Minio

        super().__init__(settings.service_dir("files") / "tmp")
        self.bucket = settings.s3_bucket
        prefix = settings.topic_prefix.strip(".")
        self.prefix = f"{prefix}/" if prefix else ""
        self.client = Minio(
            settings.s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            secure=settings.s3_secure,
        )

    def _start_sync(self) -> None:
        from minio.error import S3Error

        super()._start_sync()
        try:
            if not self.client.bucket_exists(self.bucket):
                self.client.make_bucket(self.bucket)
        except S3Error as exc:
            if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
        self._abort_stale_uploads()

    def _ping_sync(self) -> None:
        if not self.client.bucket_exists(self.bucket):
            raise StorageUnavailable(f"bucket {self.bucket} is gone")

    def _abort_stale_uploads(self) -> None:
        """Multipart uploads a killed process left open (older than an hour) hold space
        on the server; abort them."""
        cutoff = datetime.now(UTC) - timedelta(hours=1)
        listing = self.client._list_multipart_uploads(self.bucket, prefix=self.prefix + "blobs/")
        for upload in listing.uploads:
            if upload.initiated_time is not None and upload.initiated_time < cutoff and upload.upload_id:
                with contextlib.suppress(Exception):
                    self.client._abort_multipart_upload(self.bucket, upload.object_name, upload.upload_id)
                    log.info("files.stale_upload_aborted", key=upload.object_name)

    async def start(self) -> None:
        delay = 0.5
        for attempt in range(8):
            try:
                await self.run(self._start_sync)
                return
            except Exception as exc:
                if attempt == 7:
                    raise StorageUnavailable(f"S3 server at {self.client._base_url.host}: {exc}") from exc
                log.warning("files.s3_unavailable", error=str(exc), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    def new_key(self) -> str:
        return f"{self.prefix}blobs/{uuid.uuid4().hex}"

    def writer(self, *, content_type: str, keep_local: bool = False) -> BlobWriter:
        return _S3Writer(self, self.new_key(), content_type, self.tmp_path() if keep_local else None)

    def read(self, key: str) -> AsyncGenerator[bytes, None]:
        async def chunks() -> AsyncGenerator[bytes, None]:
            try:
                response = await self.run(self.client.get_object, self.bucket, key)
            except Exception as exc:
                raise StorageUnavailable(str(exc)) from exc

            def close() -> None:
                response.close()
                response.release_conn()

            async for chunk in self._read_ahead(lambda: response.read(READ_CHUNK), close):
                yield chunk

        return chunks()

    async def delete(self, key: str) -> None:
        await self.run(self.client.remove_object, self.bucket, key)


@dataclass
class _Part:
    number: int
    buffer: bytearray
    upload: asyncio.Future[Any]
    hashed: asyncio.Future[None]


class _S3Writer(BlobWriter):
    """A streaming multipart upload of unknown length.

    Bytes fill a 10 MB part buffer on the event loop. A full part goes to two threads at
    once: one uploads it, one adds it to the file's SHA-256 (and to ``tee`` when asked;
    parts are hashed strictly in order). Up to two parts are in flight while the third
    fills, so receiving, hashing and sending overlap, and memory stays at three parts
    whatever the file size. A blob smaller than one part goes as a single PUT.

    The SDK's ``put_object`` cannot do this: it copies each part twice, reads only between
    parts, and leaves its worker threads behind when a stream fails. So this drives the
    SDK's multipart calls (``_create_multipart_upload``, ``_upload_part``,
    ``_complete_multipart_upload``, ``_abort_multipart_upload``; the SDK is pinned in
    requirements.lock and tests/contract/test_blobstore.py covers them).
    """

    IN_FLIGHT = 3

    def __init__(self, store: S3BlobStore, key: str, content_type: str, tee: Path | None) -> None:
        self.store = store
        self.client = store.client
        self.key = key
        self.content_type = content_type
        self.tee = tee
        self._tee: BinaryIO | None = None
        self._buffer = bytearray(PART_SIZE)
        self._filled = 0
        self._free: list[bytearray] = []
        self._inflight: deque[_Part] = deque()
        self._last_hash: asyncio.Future[None] | None = None
        self._shipped = 0
        self._upload_id: str | None = None
        self._etags: dict[int, str] = {}
        self._hasher = hashlib.sha256()
        self._size = 0
        self._info: BlobInfo | None = None
        self._stored = False  # an object exists under the key

    # threads -------------------------------------------------------------------------------------
    def _consume(self, data: memoryview) -> None:
        self._hasher.update(data)
        self._size += len(data)
        if self.tee is not None:
            if self._tee is None:
                self._tee = self.tee.open("xb")
            self._tee.write(data)

    def _create(self) -> str:
        return self.client._create_multipart_upload(
            self.store.bucket, self.key, {"Content-Type": self.content_type}
        )

    def _send_part(self, data: memoryview, number: int) -> None:
        assert self._upload_id is not None
        body = cast("bytes", data)  # any bytes-like body is sent as it is, without a copy
        self._etags[number] = self.client._upload_part(
            self.store.bucket, self.key, body, None, self._upload_id, number
        )

    def _send_whole(self, data: memoryview) -> None:
        self._consume(data)
        if len(data):
            self.client._put_object(
                self.store.bucket, self.key, cast("bytes", data), {"Content-Type": self.content_type}
            )
            self._stored = True
        self._close_tee()

    def _complete(self) -> None:
        from minio.datatypes import Part

        assert self._upload_id is not None
        parts = [Part(number, etag) for number, etag in sorted(self._etags.items())]
        self.client._complete_multipart_upload(self.store.bucket, self.key, self._upload_id, parts)
        self._stored = True
        self._close_tee()

    def _close_tee(self) -> None:
        if self._tee is not None:
            self._tee.close()
            self._tee = None
        elif self.tee is not None and not self.tee.exists():
            self.tee.touch()

    def _discard(self) -> None:
        self._close_tee()
        if self._stored:
            self.client.remove_object(self.store.bucket, self.key)
        elif self._upload_id is not None:
            self.client._abort_multipart_upload(self.store.bucket, self.key, self._upload_id)
        if self.tee is not None:
            self.tee.unlink(missing_ok=True)

    # event loop ------------------------------------------------------------------------------------
    async def _hash_after(self, previous: asyncio.Future[None] | None, data: memoryview) -> None:
        if previous is not None:
            await previous
        await self.store.run(self._consume, data)

    async def _settle(self, part: _Part) -> None:
        try:
            await part.upload
            await part.hashed
        except Exception as exc:
            raise StorageUnavailable(str(exc)) from exc
        self._free.append(part.buffer)

    async def _ship(self, last: bool = False) -> None:
        """Send the filled buffer as the next part; continue filling another one."""
        if self._upload_id is None:
            try:
                self._upload_id = await self.store.run(self._create)
            except Exception as exc:
                raise StorageUnavailable(str(exc)) from exc
        self._shipped += 1
        data = memoryview(self._buffer)[: self._filled]
        loop = asyncio.get_running_loop()
        upload = loop.run_in_executor(self.store._executor, self._send_part, data, self._shipped)
        self._last_hash = asyncio.ensure_future(self._hash_after(self._last_hash, data))
        self._inflight.append(_Part(self._shipped, self._buffer, upload, self._last_hash))
        if last:
            return
        # At most IN_FLIGHT parts in flight and one filling: IN_FLIGHT + 1 buffers in all.
        while self._inflight and (
            len(self._inflight) > self.IN_FLIGHT
            or (self._inflight[0].upload.done() and self._inflight[0].hashed.done())
        ):
            await self._settle(self._inflight.popleft())
        self._buffer = self._free.pop() if self._free else bytearray(PART_SIZE)
        self._filled = 0

    async def _settle_all(self) -> None:
        while self._inflight:
            await self._settle(self._inflight.popleft())

    async def write(self, data: bytes) -> None:
        view = memoryview(data)
        while len(view):
            take = min(PART_SIZE - self._filled, len(view))
            self._buffer[self._filled : self._filled + take] = view[:take]
            self._filled += take
            view = view[take:]
            if self._filled == PART_SIZE:
                await self._ship()

    async def finish(self) -> BlobInfo:
        try:
            if not self._shipped:
                await self.store.run(self._send_whole, memoryview(self._buffer)[: self._filled])
            else:
                if self._filled:
                    await self._ship(last=True)
                await self._settle_all()
                await self.store.run(self._complete)
        except StorageUnavailable:
            raise
        except Exception as exc:
            raise StorageUnavailable(str(exc)) from exc
        self._buffer = bytearray()
        self._free.clear()
        self._info = BlobInfo(self._size, self._hasher.hexdigest())
        return self._info

    async def commit(self) -> str:
        """The object is complete already; only the local copy goes."""
        assert self._info is not None, "finish() first"
        if self.tee is not None:
            self.tee.unlink(missing_ok=True)
        return self.key

    async def abort(self) -> None:
        for part in self._inflight:
            with contextlib.suppress(Exception):
                await part.upload
            with contextlib.suppress(Exception):
                await part.hashed
        self._inflight.clear()
        with contextlib.suppress(Exception):
            await self.store.run(self._discard)

    def local_copy(self) -> Path | None:
        return self.tee if self._info is not None else None


def build_blobstore(settings: Settings) -> BlobStore:
    """The blob store for the configured mode."""
    if settings.embedded:
        return LocalBlobStore(settings.service_dir("files"))
    return S3BlobStore(settings)
