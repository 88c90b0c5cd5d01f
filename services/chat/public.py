"""Chat's domain events → the public events of ``chat.events``."""

from __future__ import annotations

from services.chat.domain import Thread
from shared.events import MessagePostedV1, MessageReadV1
from shared.idempotency import IdempotencyRecord
from shared.mapping import EventMap

EVENTS = EventMap()
EVENTS.internal(Thread.Opened, IdempotencyRecord.Recorded)


@EVENTS.public(Thread.MessagePosted, to=MessagePostedV1)
def message_posted(event: Thread.MessagePosted) -> MessagePostedV1:
    return MessagePostedV1(
        message_id=event.message_id,
        thread_id=str(event.originator_id),
        seq=event.seq,
        applicant_id=event.applicant_id,
        author_id=event.author_id,
        author_role=event.role,
        author_name=event.author_name,
        text=event.text,
        attachments=[a["id"] for a in event.attachments],
    )


@EVENTS.public(Thread.MessageRead, to=MessageReadV1)
def message_read(event: Thread.MessageRead) -> MessageReadV1:
    return MessageReadV1(
        thread_id=str(event.originator_id),
        reader_id=event.reader_id,
        reader_role=event.role,
        up_to_seq=event.up_to_seq,
    )
