"""Where the files' bytes live: the port (``port.py``) and its adapters, a local folder
(``local.py``, embedded default) and an S3 server (``s3.py``, real stack)."""

from __future__ import annotations

from services.files.storage.local import LocalBlobStore
from services.files.storage.port import (
    PART_SIZE,
    READ_CHUNK,
    BlobInfo,
    BlobStore,
    BlobWriter,
    StorageUnavailable,
    return_large_buffers_to_the_os,
)
from services.files.storage.s3 import S3BlobStore
from shared.settings import Settings

__all__ = [
    "PART_SIZE",
    "READ_CHUNK",
    "BlobInfo",
    "BlobStore",
    "BlobWriter",
    "LocalBlobStore",
    "S3BlobStore",
    "StorageUnavailable",
    "build_blobstore",
    "return_large_buffers_to_the_os",
]


def build_blobstore(settings: Settings) -> BlobStore:
    """The blob store for the configured mode."""
    if settings.embedded:
        return LocalBlobStore(settings.service_dir("files"))
    return S3BlobStore(settings)
