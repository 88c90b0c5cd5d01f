"""The standard forms, generated and published at first start (record 12)."""

from __future__ import annotations

import structlog
from eventsourcing.domain import Aggregate

from services.files.content import DOCX
from services.files.domain import StoredFile
from services.files.forms import SPECS, build_docx
from services.files.state import FilesState
from services.files.values import SYSTEM, Blob
from shared.errors import Conflict
from shared.runtime import blocking

log = structlog.get_logger(__name__)
AUDIT = {"actor": SYSTEM, "ip": "", "user_agent": "files seed"}


async def seed_forms(files: FilesState) -> list[Aggregate]:
    """Generate and publish every standard form not published yet; what was saved (each
    form and its file)."""
    published: list[Aggregate] = []
    for spec in SPECS:
        if await blocking(files.app.series, spec.code) is not None:
            continue
        data = await blocking(build_docx, spec, 1, files.settings.company_name)
        key, info = await files.blobs.put_bytes(data, DOCX)
        blob = Blob(key, info.size, info.sha256, DOCX, "docx", f"{spec.title}.docx")
        stored = StoredFile.of(blob, owner_id=SYSTEM, audit=AUDIT)
        try:
            series = await blocking(
                files.app.publish_form,
                code=spec.code,
                title=spec.title,
                kind=spec.kind,
                type_code=spec.application_type_code,
                file=stored,
                audit=AUDIT,
            )
        except Conflict:  # another process published it first
            continue
        published += [stored, series]
    return published


async def seed_and_list(files: FilesState) -> None:
    """Seed, then wait (30 s at most) until the catalog lists what was seeded."""
    published = await seed_forms(files)
    if published:
        log.info("files.forms_seeded", forms=len(published) // 2)
        if not await files.listed(*published, timeout=30.0):
            log.warning("files.forms_catalog_behind", forms=len(published) // 2)
