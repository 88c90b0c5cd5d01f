"""Chat's use cases, whatever carries them: the HTTP routes (api.py), a socket of its own
(socket.py) and the gateway's link (link.py), both through a channel (channel.py).

They check access (a consumer only on their own application; staff on any), validate what a
client sends, run the commands through :func:`shared.runtime.blocking` and answer with the
caller's view. Refusals are domain errors (shared/errors.py)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from services.chat.app import Author, ChatApp, Message
from services.chat.domain import STAFF, Attachment, marks_of, other, role_of
from services.chat.follow import Follower
from services.chat.hub import Hub
from services.chat.models import MAX_TEXT, PostIn
from services.chat.projections import Directory
from shared.auth import Authenticator, Principal
from shared.consumer import ConsumerRunner
from shared.errors import Invalid, NotFound
from shared.runtime import blocking
from shared.settings import Settings


@dataclass(frozen=True)
class ChatState:
    """What the chat process shares between its routes, sockets and link."""

    settings: Settings
    chat: ChatApp
    directory: Directory
    hub: Hub
    references: ConsumerRunner
    auth: Authenticator
    follower: Follower | None = None  # what the other replicas commit (services/chat/follow.py)


@dataclass(frozen=True)
class Target:
    """The application whose chat is being opened, as the chat knows it."""

    id: uuid.UUID
    key: str
    applicant_id: str
    number: str


def not_found() -> NotFound:
    return NotFound("not_found", "Заявка не найдена.")


async def find_target(directory: Directory, application_id: str, principal: Principal) -> Target:
    """The application if the caller may open its chat: its applicant, or staff. Else 404.

    Someone else's application does not exist for you: the directory waits for it exactly as
    for an unknown id (:meth:`Directory.application`), so neither the answer nor its time
    tells them apart."""
    try:
        key = uuid.UUID(application_id)
    except ValueError:
        raise not_found() from None

    def may_open(found: tuple[str, str]) -> bool:
        return principal.has(STAFF) or found[0] == principal.account_id

    found = await directory.application(str(key), may_open)
    if found is None:
        raise not_found()
    return Target(key, str(key), found[0], found[1])


async def author_of(directory: Directory, principal: Principal) -> Author:
    """Who writes, with the name the accounts projection knows."""
    return Author(principal.account_id, role_of(principal.roles), await directory.name(principal.account_id))


async def open_chat(s: ChatState, application_id: str, principal: Principal) -> tuple[Target, Author]:
    """The thread the caller may write in, and the caller as its author."""
    target = await find_target(s.directory, application_id, principal)
    return target, await author_of(s.directory, principal)


def clean_text(raw: str) -> str:
    """The text as stored: line breaks normalised, outer blanks stripped; markup is just text."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n").strip()
    if any((ch < " " and ch not in "\n\t") or ch == "\x7f" for ch in text):
        raise Invalid("invalid_text", "Сообщение содержит недопустимые управляющие символы.")
    if len(text) > MAX_TEXT:
        raise Invalid("text_too_long", f"Сообщение длиннее {MAX_TEXT} символов ({len(text)}). Сократите его.")
    return text


async def send_message(s: ChatState, target: Target, author: Author, body: PostIn) -> tuple[Message, bool]:
    """Validate and post; (message, created)."""
    text = clean_text(body.text)
    file_ids = list(dict.fromkeys(body.attachments))
    if not text and not file_ids:
        raise Invalid("empty_message", "Напишите сообщение или приложите файл.")
    attachments: list[Attachment] = []
    if file_ids:
        # Someone else's file is refused after the same wait as an unknown one.
        found = await s.directory.files(author.account_id, file_ids)
        if found is None:
            raise Invalid("file_not_found", "Файл не найден среди ваших загруженных файлов.")
        attachments = found
    client_id = body.client_id or ""
    result = await blocking(s.chat.post, target.id, target.applicant_id, author, text, attachments, client_id)
    s.hub.activity(author.account_id, author.role)
    return result


async def mark_read(s: ChatState, target: Target, author: Author, up_to_seq: int) -> dict[str, object]:
    """Record a read receipt; the reader's mark, unread and the thread's marks after it."""
    thread = await blocking(s.chat.read, target.id, author, up_to_seq)
    s.hub.activity(author.account_id, author.role)
    return {
        "up_to_seq": thread.read_marks.get(author.account_id, 0) if thread else 0,
        "unread": thread.unread_for(author.role) if thread else 0,
        "last_seq": thread.seq if thread else 0,
        "read": marks_of(thread),
    }


async def history(
    s: ChatState, target: Target, after: int, before: int | None, limit: int
) -> dict[str, object]:
    """A page of messages by sequence (see the route), with what lies beyond it."""
    items, thread = await blocking(s.chat.history, target.id, after, before, limit)
    last_seq = thread.seq if thread else 0
    has_earlier = after > 0 if before is None else bool(items) and items[0]["seq"] > after + 1
    return {
        "items": items,
        "last_seq": last_seq,
        "has_more": bool(items) and items[-1]["seq"] < last_seq,
        "has_earlier": has_earlier,
        "read": marks_of(thread),
    }


async def summary(s: ChatState, target: Target, principal: Principal) -> dict[str, object]:
    """The caller's view of the thread: unread, last sequence, read marks, presence."""
    thread = await blocking(s.chat.thread, target.id)
    role = role_of(principal.roles)
    marks = marks_of(thread)
    return {
        "you": {"account_id": principal.account_id, "role": role},
        "application_id": target.key,
        "number": target.number,
        "unread": thread.unread_for(role) if thread else 0,
        "last_seq": thread.seq if thread else 0,
        "read_up_to": marks[role],
        "other_read_up_to": marks[other(role)],
        "read": marks,
        "presence": s.hub.presence.of(target.applicant_id),
    }
