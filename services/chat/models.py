"""What a client sends the chat (HTTP bodies and the socket's ``send`` frame), and its bounds."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

MAX_TEXT = 4000
MAX_ATTACHMENTS = 10
MAX_SEQ = 2**31  # every sequence number a client sends is at most this

FileId = Annotated[str, Field(min_length=1, max_length=64)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PostIn(_Strict):
    text: str = Field(default="", max_length=4 * MAX_TEXT)
    attachments: list[FileId] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)
    # Chosen by the client for each message it means to send once: a repeat is ignored.
    client_id: str | None = Field(default=None, min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


class ReadIn(_Strict):
    up_to_seq: int = Field(ge=0, le=MAX_SEQ)
