"""A streaming multipart upload of unknown length to S3, at most a few parts in memory."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from services.files.storage.port import PART_SIZE, BlobInfo, BlobWriter, StorageUnavailable

if TYPE_CHECKING:
    from services.files.storage.s3 import S3BlobStore


@dataclass
class _Part:
    number: int
    buffer: bytearray
    upload: asyncio.Future[Any]
    hashed: asyncio.Future[None]


class S3Writer(BlobWriter):
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
