"""The blob store port: one test body per adapter (a local folder; the real S3 server through
the minio SDK, ``bash deploy/infra.sh up``)."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.files.storage import PART_SIZE, READ_CHUNK, BlobStore, LocalBlobStore, S3BlobStore
from shared.settings import Settings


def s3_settings(tmp_path: Path) -> Settings:
    return Settings(
        mode="stack",
        var_dir=tmp_path,
        topic_prefix=f"ct{uuid.uuid4().hex[:10]}.",
        s3_endpoint=os.environ.get("LK_S3_ENDPOINT", "127.0.0.1:7070"),
    )


def stored_objects(store: BlobStore) -> list[str]:
    """Every blob the store holds (S3: also unfinished multipart uploads), and its temp files."""
    temps = [p.name for p in store.tmp_dir.iterdir()] if store.tmp_dir.exists() else []
    if isinstance(store, LocalBlobStore):
        return store.keys() + temps
    assert isinstance(store, S3BlobStore)
    objects = [
        o.object_name for o in store.client.list_objects(store.bucket, prefix=store.prefix, recursive=True)
    ]
    uploads = store.client._list_multipart_uploads(store.bucket, prefix=store.prefix).uploads
    return [str(o) for o in objects] + [f"incomplete:{u.object_name}" for u in uploads] + temps


@pytest.fixture(params=["local", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobStore]:
    blobs: BlobStore = (
        LocalBlobStore(tmp_path / "files") if request.param == "local" else S3BlobStore(s3_settings(tmp_path))
    )
    await blobs.start()
    yield blobs
    if isinstance(blobs, S3BlobStore):
        for name in stored_objects(blobs):
            if not name.startswith("incomplete:"):
                blobs.client.remove_object(blobs.bucket, name)
    await blobs.close()


def chunks_of(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


async def write_all(store: BlobStore, data: bytes, *, keep_local: bool = False) -> tuple[str, Path | None]:
    writer = store.writer(content_type="application/pdf", keep_local=keep_local)
    for chunk in chunks_of(data, 65_536 + 17):  # odd sizes, as a network delivers them
        await writer.write(chunk)
    info = await writer.finish()
    assert (info.size, info.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    local = writer.local_copy()
    if keep_local:
        assert local is not None and local.read_bytes() == data
    return await writer.commit(), local


async def read_all(store: BlobStore, key: str) -> bytes:
    return b"".join([chunk async for chunk in store.read(key)])


async def test_round_trip_of_a_multipart_sized_blob(store: BlobStore) -> None:
    data = os.urandom(3 * PART_SIZE + 3 * 1024 * 1024)  # four parts on S3, two in flight at times
    key, _ = await write_all(store, data)
    assert hashlib.sha256(await read_all(store, key)).hexdigest() == hashlib.sha256(data).hexdigest()
    assert await store.read_bytes(key) == data
    assert not [n for n in stored_objects(store) if n.endswith(".part")]  # no temp file left


async def test_small_blob_and_local_copy(store: BlobStore) -> None:
    key, local = await write_all(store, b"%PDF-1.4 small", keep_local=True)
    assert await read_all(store, key) == b"%PDF-1.4 small"
    assert local is not None and not local.exists()  # the copy goes once committed
    assert stored_objects(store) == [key]


async def test_abort_mid_stream_leaves_nothing(store: BlobStore) -> None:
    before = stored_objects(store)
    writer = store.writer(content_type="application/pdf", keep_local=True)
    for chunk in chunks_of(
        os.urandom(2 * PART_SIZE + 2 * 1024 * 1024), 1024 * 1024
    ):  # parts went out already
        await writer.write(chunk)
    await writer.abort()
    assert stored_objects(store) == before


async def test_abort_after_finish_leaves_nothing(store: BlobStore) -> None:
    before = stored_objects(store)
    writer = store.writer(content_type="application/zip", keep_local=True)
    await writer.write(os.urandom(300_000))
    await writer.finish()
    await writer.abort()  # e.g. the archive was refused
    assert stored_objects(store) == before


async def test_empty_writer_stores_nothing(store: BlobStore) -> None:
    before = stored_objects(store)
    writer = store.writer(content_type="application/pdf")
    info = await writer.finish()
    assert info.size == 0 and info.sha256 == hashlib.sha256(b"").hexdigest()
    await writer.abort()
    assert stored_objects(store) == before


async def test_reading_can_stop_early(store: BlobStore) -> None:
    key, _ = await write_all(store, os.urandom(3 * READ_CHUNK))
    chunks = store.read(key)
    first = await anext(chunks)
    await chunks.aclose()  # a client that went away
    assert first and len(first) <= READ_CHUNK
    assert len(await read_all(store, key)) == 3 * READ_CHUNK  # the store still serves


async def test_local_store_is_content_addressed(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "files")
    await store.start()
    try:
        first, _ = await write_all(store, b"same bytes")
        second, _ = await write_all(store, b"same bytes")
        assert first == second == hashlib.sha256(b"same bytes").hexdigest()
        assert store.keys() == [first] and not list(store.tmp_dir.iterdir())
        (store.tmp_dir / "crashed.part").write_bytes(b"half")
        await store.start()  # a restart removes leftovers of a crash
        assert not list(store.tmp_dir.iterdir())
    finally:
        await store.close()
