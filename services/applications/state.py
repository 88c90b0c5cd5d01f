"""What the applications' routes reach: the command side, the read store, the number series,
the views to wait for after a command, and the accounts and files the service knows."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass

from services.applications.actor import Actor, role_of
from services.applications.app import ApplicationsApp
from services.applications.catalog_view import CatalogView
from services.applications.numbers import NumberSeries
from services.applications.projections.hashes import HashLookup
from services.applications.rules import Document
from shared.auth import Principal
from shared.consumer import ConsumerRunner
from shared.readstore import ReadStore, Row
from shared.references import Lookup


@dataclass(frozen=True)
class ApplicationsState:
    app: ApplicationsApp
    store: ReadStore
    numbers: NumberSeries
    views: tuple[ConsumerRunner, ...]  # what an application's page reads
    refs: Lookup  # applications.refs: accounts and files
    catalog: CatalogView  # the catalog's answers, held in memory
    hashes: HashLookup | None = None  # applications.file_hashes: what a signature signs

    async def actor(self, principal: Principal) -> Actor:
        """Who acts, with the name and e-mail the references know (a just-registered account
        is waited for)."""
        row = await self.refs.row("accounts", principal.account_id)
        name, email = (row["display_name"], row["email"]) if row else ("", "")
        return Actor(principal.account_id, role_of(principal), name, email)

    async def owned_files(self, owner_id: str, file_ids: Iterable[str]) -> dict[str, Row]:
        """The rows of the files among ``file_ids`` that ``owner_id`` uploaded and has not
        deleted (fresh uploads are waited for)."""
        rows = await self.refs.rows("files", file_ids)  # one query for all of them
        return {k: r for k, r in rows.items() if r["owner_id"] == owner_id and not r["deleted"]}

    async def documents(
        self, owner_id: str, given: list[dict[str, str]]
    ) -> tuple[list[Document], dict[str, str]]:
        """The documents as the command records them (with the files' names) and the owned
        files' content types."""
        files = await self.owned_files(owner_id, [d["file_id"] for d in given])
        documents = [
            {**d, "name": files[d["file_id"]]["name"] if d["file_id"] in files else ""} for d in given
        ]
        return documents, {k: v["content_type"] for k, v in files.items()}

    async def caught_up(self, application_id: str, version: int) -> bool:
        """Read-your-writes: wait until the views have applied the application's new version
        (False if they could not: the service's relay is stalled, or the wait timed out)."""
        waits = (r.wait_for_subject("applications", application_id, version, timeout=5.0) for r in self.views)
        return all(await asyncio.gather(*waits))
