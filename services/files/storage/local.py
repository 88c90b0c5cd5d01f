"""The local folder adapter (embedded default): a folder under ``var/files``.

A blob is written to ``tmp/``, fsynced, and renamed to ``blobs/<aa>/<sha256>``:
content-addressed, so the same bytes are stored once, and a rename is atomic, so a
half-written blob is never visible.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import BinaryIO

from services.files.storage.port import CHUNK, READ_CHUNK, BlobInfo, BlobStore, BlobWriter, StorageUnavailable


class LocalBlobStore(BlobStore):
    content_addressed = True

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

    async def delete(self, key: str) -> None:
        await self.run(self.path_of(key).unlink, True)

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
