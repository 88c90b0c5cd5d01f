"""The SHA-256 of every uploaded file (files.events), which the simple electronic signature
records with the contract it signs (applications.file_hashes). A projection of its own, so that
it reads files.events from the beginning and knows the files uploaded before it existed."""

from __future__ import annotations

from dataclasses import dataclass

from shared.consumer import ConsumerRunner, Projection
from shared.events import Envelope, FileUploadedV1
from shared.readstore import ReadStore, Tx

HASHES_DDL = (
    "CREATE TABLE IF NOT EXISTS applications_file_hashes (file_id TEXT PRIMARY KEY, sha256 TEXT NOT NULL)",
)


class FileHashes(Projection):
    name = "applications.file_hashes"
    ddl = HASHES_DDL

    async def handle(self, tx: Tx, event: Envelope) -> None:
        payload = event.parse()
        if isinstance(payload, FileUploadedV1):
            await tx.execute(
                "INSERT INTO applications_file_hashes (file_id, sha256) VALUES ($1, $2)"
                " ON CONFLICT (file_id) DO NOTHING",
                payload.file_id,
                payload.sha256,
            )


@dataclass(frozen=True)
class HashLookup:
    """A file's SHA-256, waiting (bounded) for the upload of a file just uploaded."""

    store: ReadStore
    runner: ConsumerRunner
    timeout: float = 3.0

    async def sha256(self, file_id: str) -> str | None:
        found = await self._fetch(file_id)
        if found is None:
            await self.runner.wait_for_subject("files", file_id, 1, self.timeout)
            found = await self._fetch(file_id)
        return found

    async def _fetch(self, file_id: str) -> str | None:
        value = await self.store.fetchval(
            "SELECT sha256 FROM applications_file_hashes WHERE file_id = $1", file_id
        )
        return str(value) if value is not None else None
