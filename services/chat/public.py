"""Maps chat's domain events to the public events of ``chat.events``."""

from __future__ import annotations

from typing import Any

from shared.events import MessagePostedV1, MessageReadV1, PublicEvent


def to_public(event: Any) -> PublicEvent | None:
    kind = type(event).__qualname__
    thread_id = str(event.originator_id)
    if kind == "Thread.MessagePosted":
        return MessagePostedV1(
            message_id=event.message_id,
            thread_id=thread_id,
            seq=event.seq,
            applicant_id=event.applicant_id,
            author_id=event.author_id,
            author_role=event.role,
            author_name=event.author_name,
            text=event.text,
            attachments=[a["id"] for a in event.attachments],
        )
    if kind == "Thread.MessageRead":
        return MessageReadV1(
            thread_id=thread_id, reader_id=event.reader_id, reader_role=event.role, up_to_seq=event.up_to_seq
        )
    return None  # Thread.Opened stays internal
