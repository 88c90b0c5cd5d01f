"""What the running notifier holds: its read store (the mail outbox), the sender that
delivers the outbox, and the scheduler of chat mail."""

from __future__ import annotations

from dataclasses import dataclass

from services.notifier.chat_schedule import ChatMailScheduler
from services.notifier.outbox import Sender
from shared.readstore import ReadStore


@dataclass(frozen=True)
class NotifierState:
    store: ReadStore
    sender: Sender
    scheduler: ChatMailScheduler

    async def health(self) -> dict[str, object]:
        """The detail of ``/health``: ``pending_mail``, the e-mails in the outbox not sent yet."""
        pending = await self.store.fetchval("SELECT COUNT(*) FROM notifier_outbox WHERE status = 'pending'")
        return {"pending_mail": int(pending or 0)}

    async def mail_figures(self) -> tuple[int, int]:
        """``/metrics``: the outbox's depth (e-mails not sent yet) and the failed attempts to
        send so far (each attempt counts once; the one that succeeded does not)."""
        row = await self.store.fetchrow(
            "SELECT SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END) AS depth,"
            " SUM(attempts - CASE WHEN status = 'sent' THEN 1 ELSE 0 END) AS failed FROM notifier_outbox"
        )
        return int((row or {}).get("depth") or 0), int((row or {}).get("failed") or 0)

    async def outbox_depth(self) -> int:
        return (await self.mail_figures())[0]

    async def mail_failures(self) -> int:
        return (await self.mail_figures())[1]
