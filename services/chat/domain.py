"""Chat's write model: one :class:`Thread` per application (its id is the application id).

A thread is created with its first message. Messages are numbered per thread (``seq``,
from 1); read receipts record how far a reader has read. The aggregate keeps only what
commands need to decide (sequence, author roles, idempotency keys, read marks) and the
event version of every message, so history can be read straight from the event store
by sequence number.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TypedDict

from eventsourcing.domain import Aggregate, event

CONSUMER = "consumer"
STAFF = "staff"
RECENT = 20  # the times of each author's last messages kept for the flood limit (services/chat/limiter.py)


def other(role: str) -> str:
    return STAFF if role == CONSUMER else CONSUMER


def role_of(roles: tuple[str, ...] | list[str]) -> str:
    """The side an account writes for: staff if it has the role, else the applicant's."""
    return STAFF if STAFF in roles else CONSUMER


class Attachment(TypedDict):
    """A file attached to a message, as the message keeps it."""

    id: str
    name: str
    size: int
    content_type: str


class Thread(Aggregate):
    """The conversation of an applicant with the grid company's staff about one application."""

    # The event classes keep their names: stored events name them (``Thread.MessagePosted``).
    class Opened(Aggregate.Created):
        applicant_id: str

    class MessagePosted(Aggregate.Event):
        seq: int
        message_id: str
        client_id: str
        author_id: str
        role: str
        author_name: str
        text: str
        attachments: list[Attachment]
        at: str
        applicant_id: str

    class MessageRead(Aggregate.Event):
        reader_id: str
        role: str
        up_to_seq: int

    @staticmethod
    def create_id(id: uuid.UUID) -> uuid.UUID:
        return id

    @event(Opened)
    def __init__(self, *, id: uuid.UUID, applicant_id: str) -> None:
        self.applicant_id = applicant_id
        self.seq = 0
        self.versions: list[int] = []  # versions[seq - 1]: the event version of message ``seq``
        self.roles: list[str] = []  # roles[seq - 1]: who wrote message ``seq``
        self.client_ids: dict[str, int] = {}  # "author:client id" → seq (idempotency keys)
        self.read_marks: dict[str, int] = {}  # reader id → read up to seq
        self.role_marks: dict[str, int] = {CONSUMER: 0, STAFF: 0}  # side → read up to seq
        self.recent: dict[str, list[float]] = {}  # author id → times of their last RECENT messages

    @event(MessagePosted)
    def post(
        self,
        *,
        seq: int,
        message_id: str,
        client_id: str,
        author_id: str,
        role: str,
        author_name: str,
        text: str,
        attachments: list[Attachment],
        at: str,
        applicant_id: str,
    ) -> None:
        self.seq = seq
        self.versions.append(self.version + 1)
        self.roles.append(role)
        if client_id:
            self.client_ids[f"{author_id}:{client_id}"] = seq
        times = self._recent().setdefault(author_id, [])
        times.append(datetime.fromisoformat(at).timestamp())
        del times[:-RECENT]

    @event(MessageRead)
    def read(self, *, reader_id: str, role: str, up_to_seq: int) -> None:
        self.read_marks[reader_id] = max(self.read_marks.get(reader_id, 0), up_to_seq)
        self.role_marks[role] = max(self.role_marks.get(role, 0), up_to_seq)

    # queries ------------------------------------------------------------------------------
    def unread_for(self, role: str) -> int:
        """Messages of the other side after ``role``'s read mark."""
        mark = self.role_marks.get(role, 0)
        return sum(1 for author in self.roles[mark:] if author != role)

    def seq_of(self, author_id: str, client_id: str) -> int | None:
        return self.client_ids.get(f"{author_id}:{client_id}") if client_id else None

    def posted_at(self, author_id: str) -> list[float]:
        """When ``author_id``'s last (up to :data:`RECENT`) messages were posted, oldest first
        (POSIX seconds)."""
        return self._recent().get(author_id, [])

    def _recent(self) -> dict[str, list[float]]:
        # A thread loaded from a snapshot taken by the code before this attribute lacks it; the
        # messages after the snapshot fill it in (enough for a window of seconds).
        recent: dict[str, list[float]] = self.__dict__.setdefault("recent", {})
        return recent


def marks_of(thread: Thread | None) -> dict[str, int]:
    """How far each side has read (nothing before the first message)."""
    return dict(thread.role_marks) if thread else {CONSUMER: 0, STAFF: 0}


AGGREGATES = (Thread,)
