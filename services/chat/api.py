"""Chat's HTTP API (``/api/v1/applications/{id}/…``): history, posting, read receipts, the
caller's unread counter and presence. The live socket is in :mod:`services.chat.socket`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import HTTPConnection

from services.chat.app import Author, ChatApp, role_of
from services.chat.domain import CONSUMER, STAFF, other
from services.chat.hub import Hub
from services.chat.projections import Directory
from shared.auth import CurrentPrincipal, Principal
from shared.http import ApiError, IdPath, answers
from shared.runtime import blocking

router = APIRouter(prefix="/api/v1")

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


def not_found() -> ApiError:
    return ApiError(404, "not_found", "Заявка не найдена.")


def file_not_found() -> ApiError:
    return ApiError(422, "file_not_found", "Файл не найден среди ваших загруженных файлов.")


@dataclass(frozen=True)
class Target:
    """The application whose chat is being opened, as the chat knows it."""

    id: uuid.UUID
    key: str
    applicant_id: str
    number: str


def state(conn: HTTPConnection) -> Any:
    return conn.app.state


async def find_target(s: Any, application_id: str, principal: Principal) -> Target:
    """The application if the caller may open its chat: its applicant, or staff. Else 404.
    ``s`` is the app's state (here and below: shared by HTTP, the socket and the link).

    Someone else's application does not exist for you: the directory waits for it exactly as
    for an unknown id (:meth:`Directory.application`), so neither the answer nor its time
    tells them apart."""
    try:
        key = uuid.UUID(application_id)
    except ValueError:
        raise not_found() from None

    def may_open(found: tuple[str, str]) -> bool:
        return principal.has(STAFF) or found[0] == principal.account_id

    directory: Directory = s.directory
    found = await directory.application(str(key), may_open)
    if found is None:
        raise not_found()
    return Target(key, str(key), found[0], found[1])


async def author_of(s: Any, principal: Principal) -> Author:
    """Who writes, with the name the accounts projection knows."""
    directory: Directory = s.directory
    return Author(principal.account_id, role_of(principal.roles), await directory.name(principal.account_id))


def clean_text(raw: str) -> str:
    """The text as stored: line breaks normalised, outer blanks stripped; markup is just text."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n").strip()
    if any((ch < " " and ch not in "\n\t") or ch == "\x7f" for ch in text):
        raise ApiError(422, "invalid_text", "Сообщение содержит недопустимые управляющие символы.")
    if len(text) > MAX_TEXT:
        raise ApiError(
            422, "text_too_long", f"Сообщение длиннее {MAX_TEXT} символов ({len(text)}). Сократите его."
        )
    return text


async def send_message(s: Any, target: Target, author: Author, body: PostIn) -> tuple[dict[str, Any], bool]:
    """Validate and post; (message, created)."""
    text = clean_text(body.text)
    file_ids = list(dict.fromkeys(body.attachments))
    if not text and not file_ids:
        raise ApiError(422, "empty_message", "Напишите сообщение или приложите файл.")
    attachments: list[dict[str, Any]] = []
    if file_ids:
        directory: Directory = s.directory
        # Someone else's file is refused after the same wait as an unknown one.
        found = await directory.files(author.account_id, file_ids)
        if found is None:
            raise file_not_found()
        attachments = found
    chat: ChatApp = s.chat
    result = await blocking(
        chat.post, target.id, target.applicant_id, author, text, attachments, body.client_id or ""
    )
    hub: Hub = s.hub
    hub.activity(author.account_id, author.role)
    return result


async def mark_read(s: Any, target: Target, author: Author, up_to_seq: int) -> dict[str, Any]:
    chat: ChatApp = s.chat
    thread = await blocking(chat.read, target.id, author, up_to_seq)
    hub: Hub = s.hub
    hub.activity(author.account_id, author.role)
    marks = dict(thread.role_marks) if thread else {CONSUMER: 0, STAFF: 0}
    return {
        "up_to_seq": thread.read_marks.get(author.account_id, 0) if thread else 0,
        "unread": thread.unread_for(author.role) if thread else 0,
        "last_seq": thread.seq if thread else 0,
        "read": marks,
    }


async def summary(s: Any, target: Target, principal: Principal) -> dict[str, Any]:
    thread = await blocking(s.chat.find, target.id)
    hub: Hub = s.hub
    role = role_of(principal.roles)
    marks = dict(thread.role_marks) if thread else {CONSUMER: 0, STAFF: 0}
    return {
        "you": {"account_id": principal.account_id, "role": role},
        "application_id": target.key,
        "number": target.number,
        "unread": thread.unread_for(role) if thread else 0,
        "last_seq": thread.seq if thread else 0,
        "read_up_to": marks[role],
        "other_read_up_to": marks[other(role)],
        "read": marks,
        "presence": hub.presence.of(target.applicant_id),
    }


# routes ------------------------------------------------------------------------------------------
@router.get("/applications/{application_id}/messages", responses=answers(401, 404, 422))
async def history(
    application_id: IdPath,
    request: Request,
    principal: CurrentPrincipal,
    after: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
    before: Annotated[int | None, Query(ge=1, le=MAX_SEQ)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """Messages by sequence: the first ``limit`` after ``after``; with ``before``, the last
    ``limit`` before it (the newest page first shown by the page)."""
    s = state(request)
    target = await find_target(state(request), application_id, principal)
    items, thread = await blocking(s.chat.history, target.id, after, before, limit)
    last_seq = thread.seq if thread else 0
    if before is None:
        has_more = bool(items) and items[-1]["seq"] < last_seq
        has_earlier = after > 0
    else:
        has_more = bool(items) and items[-1]["seq"] < last_seq
        has_earlier = bool(items) and items[0]["seq"] > after + 1
    return {
        "items": items,
        "last_seq": last_seq,
        "has_more": has_more,
        "has_earlier": has_earlier,
        "read": dict(thread.role_marks) if thread else {CONSUMER: 0, STAFF: 0},
    }


@router.post(
    "/applications/{application_id}/messages",
    status_code=201,
    responses={
        200: {"description": "Повтор: сообщение с этим client_id уже отправлено"},
        **answers(401, 404, 409, 422, 429),
    },
)
async def post_message(
    application_id: IdPath, body: PostIn, request: Request, response: Response, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Post a message: text of 1–4000 characters (stored as plain text) and/or up to 10 of your
    own files. A repeated ``client_id`` answers 200 with the message already posted."""
    target = await find_target(state(request), application_id, principal)
    author = await author_of(state(request), principal)
    message, created = await send_message(state(request), target, author, body)
    if not created:
        response.status_code = 200
    return message


@router.post("/applications/{application_id}/messages/read", responses=answers(401, 404, 409, 422, 429))
async def read(
    application_id: IdPath, body: ReadIn, request: Request, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Read receipt: the caller has read the thread up to ``up_to_seq``; clears their unread."""
    target = await find_target(state(request), application_id, principal)
    author = await author_of(state(request), principal)
    return await mark_read(state(request), target, author, body.up_to_seq)


@router.get("/applications/{application_id}/chat", responses=answers(401, 404))
async def chat_summary(
    application_id: IdPath, request: Request, principal: CurrentPrincipal
) -> dict[str, Any]:
    """The caller's view of the thread: unread messages, last sequence, read marks, presence."""
    target = await find_target(state(request), application_id, principal)
    return await summary(state(request), target, principal)


@router.get("/applications/{application_id}/presence", responses=answers(401, 404))
async def presence(application_id: IdPath, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    """Is a staff member online (an open chat or an action in the last minute), and since when;
    the same for the applicant."""
    s = state(request)
    target = await find_target(state(request), application_id, principal)
    hub: Hub = s.hub
    return hub.presence.of(target.applicant_id)
