"""The files service's running state, reached in routes by ``state_of(FilesState)``."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import structlog
from eventsourcing.domain import Aggregate

from services.files import queries
from services.files.app import FilesApp
from services.files.domain import StoredFile
from services.files.storage import BlobStore
from shared.consumer import ConsumerRunner
from shared.readstore import ReadStore
from shared.settings import Settings

log = structlog.get_logger(__name__)

MAX_CONCURRENT_UPLOADS = 16


@dataclass
class FilesState:
    settings: Settings
    app: FilesApp
    blobs: BlobStore
    store: ReadStore
    catalog: ConsumerRunner
    uploads: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(MAX_CONCURRENT_UPLOADS))
    # Local blobs are content-addressed, so files with the same bytes share one: a deletion
    # removes it only when no other file has it, listed or still being recorded (by key).
    blob_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    recording: Counter[str] = field(default_factory=Counter)

    async def listed(self, *aggregates: Aggregate, timeout: float = 5.0) -> bool:
        """Read-your-writes: wait until the catalog has applied each aggregate up to its
        version (exact on any transport; False after ``timeout`` or while the relay stalls)."""
        waits = (self.catalog.wait_for_subject("files", str(a.id), a.version, timeout) for a in aggregates)
        return all(await asyncio.gather(*waits))

    @asynccontextmanager
    async def keeping(self, sha256: str) -> AsyncIterator[None]:
        """While the bytes ``sha256`` are committed and recorded as a file until the catalog
        lists it: a deletion of another file with them leaves their blob."""
        async with self.blob_lock:
            self.recording[sha256] += 1
        try:
            yield
        finally:
            self.recording[sha256] -= 1
            if self.recording[sha256] <= 0:
                del self.recording[sha256]

    async def remove_blob(self, stored: StoredFile) -> None:
        """The bytes of a deleted file. On S3 each upload has its own key; a local blob is
        content-addressed, so it stays while another file, listed or being recorded, has it."""
        try:
            if not self.blobs.content_addressed:
                await self.blobs.delete(stored.blob_key)
                return
            async with self.blob_lock:
                others = await queries.others_with_bytes(self.store, stored.sha256)
                if not others and not self.recording.get(stored.blob_key):
                    await self.blobs.delete(stored.blob_key)
        except Exception:  # the file is deleted; a leftover blob only takes space
            log.exception("files.blob_not_removed", file_id=str(stored.id))
