"""Upload and download of a 200 MB file through the public entry vs the minio SDK's own put/get
against the same S3 server, in the same run; and the files service's memory during it.

The system runs as the end-to-end tests run it on the real stack (``tests.harness.System``,
every service its own process behind the system's own nginx, which is the public entry:
uploads stream through it to the files service, downloads are streamed by nginx from the S3
server after the files service's internal redirect; the upload limit raised to 256 MB for
this run). One
consumer registers, confirms and logs in through the public API. The file is a PDF header
and random bytes (so the type check passes and nothing compresses), streamed from disk by
the client in 1 MB blocks; downloads are read with urllib3, the SDK's own HTTP client, on
both sides. Each round times: SDK put (``fput_object``), gateway upload (``POST
/api/v1/files``, multipart), SDK get (``get_object`` read to the end), gateway download
(``GET /api/v1/files/{id}``); the median of the rounds is reported. Memory: the
files process's peak RSS (``VmHWM``, reset through ``/proc/<pid>/clear_refs`` before the
transfers, and sampled every 20 ms as a cross-check) minus its RSS before them.

``python -m bench.files_bench`` runs it alone; ``run()`` returns the figures.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import urllib3

from bench.common import Figure, Infra, Section, out
from tests.conftest import new_person
from tests.e2e.helpers import log_in, register_and_confirm
from tests.harness import System

SIZE = 200 * 1024 * 1024
ROUNDS = 3
TARGET_RATIO = 0.7
TARGET_GROWTH_MB = 64
CHUNK = 1024 * 1024


def _status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in bytes."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) * 1024
    return values


class _Sampler:
    """The highest VmRSS seen every 20 ms (a cross-check of VmHWM)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError, KeyError):
                self.peak = max(self.peak, _status(self.pid)["VmRSS"])
            time.sleep(0.02)

    def __enter__(self) -> _Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def _make_file(path: Path) -> str:
    hasher = hashlib.sha256()
    with path.open("wb") as fh:
        head = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
        fh.write(head)
        hasher.update(head)
        left = SIZE - len(head)
        while left:
            block = os.urandom(min(8 * CHUNK, left))
            fh.write(block)
            hasher.update(block)
            left -= len(block)
    return hasher.hexdigest()


def _minio(system: System) -> Any:
    from minio import Minio

    s = system.settings
    return Minio(s.s3_endpoint, s.s3_access_key, s.s3_secret_key, secure=s.s3_secure)


def _sdk_put(client: Any, bucket: str, key: str, path: Path) -> float:
    start = time.perf_counter()
    client.fput_object(bucket, key, str(path), content_type="application/pdf")
    return time.perf_counter() - start


def _sdk_get(client: Any, bucket: str, key: str) -> float:
    start = time.perf_counter()
    response = client.get_object(bucket, key)
    try:
        got = sum(len(chunk) for chunk in response.stream(CHUNK))
    finally:
        response.close()
        response.release_conn()
    assert got == SIZE, got
    return time.perf_counter() - start


def _gateway_upload(http: httpx.Client, auth: dict[str, str], path: Path, sha256: str) -> tuple[float, str]:
    """``POST /api/v1/files``: the multipart body streamed from disk in 1 MB reads, as the SDK
    reads its parts (httpx's own multipart encoder would read 64 KB at a time)."""
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def body() -> Iterator[bytes]:
        yield head
        with path.open("rb") as fh:
            while block := fh.read(CHUNK):
                yield block
        yield tail

    headers = {
        **auth,
        "content-type": f"multipart/form-data; boundary={boundary}",
        "content-length": str(len(head) + path.stat().st_size + len(tail)),
    }
    start = time.perf_counter()
    answer = http.post("/api/v1/files", headers=headers, content=body())
    elapsed = time.perf_counter() - start
    assert answer.status_code == 201, answer.text
    assert answer.json()["sha256"] == sha256
    return elapsed, str(answer.json()["id"])


def _gateway_download(pool: urllib3.PoolManager, url: str, auth: dict[str, str]) -> float:
    """``GET /api/v1/files/{id}`` read to the end with urllib3, the SDK's own HTTP client."""
    start = time.perf_counter()
    response = pool.request("GET", url, headers=auth, preload_content=False)
    try:
        assert response.status == 200, response.status
        got = sum(len(chunk) for chunk in response.stream(CHUNK))
    finally:
        response.release_conn()
    assert got == SIZE, got
    return time.perf_counter() - start


def _cleanup_objects(system: System, extra: list[str]) -> None:
    client = _minio(system)
    bucket = system.settings.s3_bucket
    prefix = system.settings.topic_prefix.strip(".") + "/"
    names = [o.object_name for o in client.list_objects(bucket, prefix=prefix, recursive=True)] + extra
    for name in names:
        with contextlib.suppress(Exception):
            client.remove_object(bucket, name)


def run(infra: Infra | None = None) -> dict[str, Any]:
    """Measure, print and return the figures."""
    root = infra.tmpdir("files") if infra else Path(tempfile.mkdtemp(prefix="lk-files-bench-"))
    system = System.create("stack", root / "system")
    system.env["LK_MAX_UPLOAD_BYTES"] = str(256 * 1024 * 1024)
    system.env["LK_LOG_LEVEL"] = "WARNING"
    sdk_key = f"bench-{uuid.uuid4().hex}"
    section = Section(
        "files / 200 MB through the public entry (nginx) vs the minio SDK, same S3 server (stack)"
    )
    try:
        out("  … starting the system (stack: one process per service)")
        system.start()
        path = root / "payload.pdf"
        out("  … writing a 200 MB file")
        sha256 = _make_file(path)
        client = _minio(system)
        bucket = system.settings.s3_bucket
        pid = system.procs["files"].pid
        times: dict[str, list[float]] = {"sdk_put": [], "gw_put": [], "sdk_get": [], "gw_get": []}
        pool = urllib3.PoolManager(timeout=urllib3.Timeout(connect=5, read=300))
        with system.client() as http:
            http.timeout = httpx.Timeout(300.0)
            person = new_person()
            register_and_confirm(system, http, person)
            auth = log_in(http, person.login, person.password)
            # Warm-up: connections, imports, a first small upload and download.
            small = http.post("/api/v1/files", headers=auth, files={"file": ("a.pdf", b"%PDF-1.7\nwarm-up")})
            assert small.status_code == 201, small.text
            http.get(f"/api/v1/files/{small.json()['id']}", headers=auth)
            before = _status(pid)
            Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset VmHWM to the current RSS
            reset = _status(pid)
            with _Sampler(pid) as sampler:
                for round_ in range(ROUNDS):
                    out(f"  … round {round_ + 1}/{ROUNDS}")
                    times["sdk_put"].append(_sdk_put(client, bucket, sdk_key, path))
                    elapsed, file_id = _gateway_upload(http, auth, path, sha256)
                    times["gw_put"].append(elapsed)
                    times["sdk_get"].append(_sdk_get(client, bucket, sdk_key))
                    url = f"{system.base_url}/api/v1/files/{file_id}"
                    times["gw_get"].append(_gateway_download(pool, url, auth))
            after = _status(pid)
        median = {k: statistics.median(v) for k, v in times.items()}
        mb = SIZE / (1024 * 1024)
        section.add("sdk_put_mb_s", Figure("minio SDK put (fput_object)", mb / median["sdk_put"], "MB/s"))
        section.add(
            "gateway_upload_mb_s", Figure("upload through the public entry", mb / median["gw_put"], "MB/s")
        )
        section.add(
            "upload_ratio",
            Figure(
                "upload: public entry / SDK",
                median["sdk_put"] / median["gw_put"],
                "ratio",
                TARGET_RATIO,
                "higher",
            ),
        )
        section.add("sdk_get_mb_s", Figure("minio SDK get (get_object)", mb / median["sdk_get"], "MB/s"))
        section.add(
            "gateway_download_mb_s",
            Figure("download through the public entry", mb / median["gw_get"], "MB/s"),
        )
        section.add(
            "download_ratio",
            Figure(
                "download: public entry / SDK",
                median["sdk_get"] / median["gw_get"],
                "ratio",
                TARGET_RATIO,
                "higher",
            ),
        )
        baseline = reset["VmRSS"]
        growth = max(after["VmHWM"], sampler.peak) - baseline
        section.add(
            "files_peak_rss_growth_mb",
            Figure("files service peak RSS growth", growth / 2**20, "MB", TARGET_GROWTH_MB, "lower"),
        )
        section.add("files_rss_before_mb", Figure("files service RSS before", before["VmRSS"] / 2**20, "MB"))
        section.note(
            f"{ROUNDS} rounds, medians; seconds: "
            + ", ".join(f"{k} {'/'.join(f'{t:.2f}' for t in v)}" for k, v in times.items())
        )
        section.note(
            f"files process VmHWM after {after['VmHWM'] / 2**20:.1f} MB, sampled peak {sampler.peak / 2**20:.1f} MB,"
            f" RSS at reset {baseline / 2**20:.1f} MB"
        )
        return section.as_json()
    finally:
        with contextlib.suppress(Exception):
            _cleanup_objects(system, [sdk_key])
        system.destroy()
        if infra is None:
            shutil.rmtree(root, ignore_errors=True)
        else:
            (root / "payload.pdf").unlink(missing_ok=True)


if __name__ == "__main__":
    from shared.logs import configure_logging

    configure_logging("WARNING")
    run()
