"""The blob store port: what the files service asks of a place that keeps bytes.

A writer takes a stream (``write``… ``finish`` … ``commit``, or ``abort`` leaving nothing);
a read gives chunks, the next read while this one is sent. The adapters: a local folder
(``local.py``, embedded default) and an S3 server (``s3.py``, real stack).

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
import threading
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

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
    # Whether equal bytes share one blob (its key is their SHA-256): then a blob may be
    # removed only when no other file has the same bytes.
    content_addressed = False

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

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Remove the blob (nothing happens for one that is gone already)."""

    async def direct_url(self, key: str) -> str | None:
        """A URL that reads the blob without this process (a presigned S3 GET), or None."""
        return None

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
