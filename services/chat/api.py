"""Chat's HTTP API (``/api/v1/applications/{id}/…``): history, posting, read receipts, the
caller's unread counter and presence. The use cases are in :mod:`services.chat.usecases`;
the live socket is in :mod:`services.chat.socket`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from services.chat import usecases
from services.chat.models import MAX_SEQ, PostIn, ReadIn
from services.chat.usecases import ChatState, find_target, open_chat
from shared.auth import CurrentPrincipal
from shared.http import IdPath, answers
from shared.service import state_of

router = APIRouter(prefix="/api/v1")
State = Annotated[ChatState, Depends(state_of(ChatState))]


@router.get("/applications/{application_id}/messages", responses=answers(401, 404, 422))
async def history(
    application_id: IdPath,
    s: State,
    principal: CurrentPrincipal,
    after: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
    before: Annotated[int | None, Query(ge=1, le=MAX_SEQ)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """Messages by sequence: the first ``limit`` after ``after``; with ``before``, the last
    ``limit`` before it (the newest page first shown by the page)."""
    target = await find_target(s.directory, application_id, principal)
    return await usecases.history(s, target, after, before, limit)


@router.post(
    "/applications/{application_id}/messages",
    status_code=201,
    responses={
        200: {"description": "Повтор: сообщение с этим client_id уже отправлено"},
        **answers(401, 404, 409, 422, 429),
    },
)
async def post_message(
    application_id: IdPath, body: PostIn, s: State, response: Response, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Post a message: text of 1–4000 characters (stored as plain text) and/or up to 10 of your
    own files. A repeated ``client_id`` answers 200 with the message already posted."""
    target, author = await open_chat(s, application_id, principal)
    message, created = await usecases.send_message(s, target, author, body)
    if not created:
        response.status_code = 200
    return dict(message)


@router.post("/applications/{application_id}/messages/read", responses=answers(401, 404, 409, 422, 429))
async def read(application_id: IdPath, body: ReadIn, s: State, principal: CurrentPrincipal) -> dict[str, Any]:
    """Read receipt: the caller has read the thread up to ``up_to_seq``; clears their unread."""
    target, author = await open_chat(s, application_id, principal)
    return await usecases.mark_read(s, target, author, body.up_to_seq)


@router.get("/applications/{application_id}/chat", responses=answers(401, 404))
async def chat_summary(application_id: IdPath, s: State, principal: CurrentPrincipal) -> dict[str, Any]:
    """The caller's view of the thread: unread messages, last sequence, read marks, presence."""
    target = await find_target(s.directory, application_id, principal)
    return await usecases.summary(s, target, principal)


@router.get("/applications/{application_id}/presence", responses=answers(401, 404))
async def presence(application_id: IdPath, s: State, principal: CurrentPrincipal) -> dict[str, Any]:
    """Is a staff member online (an open chat or an action in the last minute), and since when;
    the same for the applicant."""
    target = await find_target(s.directory, application_id, principal)
    return dict(s.hub.presence.of(target.applicant_id))
