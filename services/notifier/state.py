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
