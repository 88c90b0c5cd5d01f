"""The S3 adapter (real stack): an S3-compatible server through the ``minio`` SDK.

S3 has no rename (a server-side copy would cost a second full write), so each blob goes
once to a fresh key ``<prefix>blobs/<uuid>`` as a streaming upload of unknown length
(:class:`~services.files.storage.s3_writer.S3Writer`). An object appears only when the
upload completes, and is referenced only once the ``FileUploaded`` event is saved; an
aborted upload is aborted on the server, a refused one deleted.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncGenerator
from datetime import UTC, datetime, timedelta

import structlog

from services.files.storage.port import READ_CHUNK, BlobStore, BlobWriter, StorageUnavailable
from services.files.storage.s3_writer import S3Writer
from shared.settings import Settings

log = structlog.get_logger(__name__)
PRESIGNED_FOR = timedelta(minutes=5)  # nginx starts reading at once; a download may then take long


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
        return S3Writer(self, self.new_key(), content_type, self.tmp_path() if keep_local else None)

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

    async def direct_url(self, key: str) -> str | None:
        """A presigned GET of the object, valid for a few minutes (the first call may ask the
        server for the bucket's region, so it runs off the event loop)."""
        return await self.run(self.client.presigned_get_object, self.bucket, key, PRESIGNED_FOR)

    async def delete(self, key: str) -> None:
        await self.run(self.client.remove_object, self.bucket, key)
