"""A thread's live socket of its own: ``ws /api/v1/applications/{id}/chat/ws?after=N``.

For clients that talk to the chat service directly. Authentication as on HTTP:
``Authorization: Bearer`` or ``?access_token=``; refusals accept and then close with 4000 +
the HTTP status (4401, 4404), so a page knows not to retry. The frames and the resume rule
are those of :mod:`services.chat.channel`. (Browsers come through the gateway, which carries
all its sockets over one link: :mod:`services.chat.link`.)
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated

from fastapi import APIRouter, Depends, WebSocket, WebSocketDisconnect

from services.chat.channel import Channel, after_out_of_range, error_frame, open_target
from services.chat.models import MAX_SEQ
from services.chat.usecases import ChatState
from shared.errors import DomainError, Refused
from shared.service import state_of

router = APIRouter()

LIVE_BACKLOG = 256  # frames waiting for a slow client before it is told to reconnect (4008)
GONE = -1


def token_of(ws: WebSocket) -> str | None:
    scheme, _, value = ws.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return ws.query_params.get("access_token") or None


def after_of(ws: WebSocket) -> int:
    """``?after=``: junk counts as 0; a number beyond any sequence is refused (422)."""
    raw = ws.query_params.get("after", "0").strip()
    if raw.isdigit() and len(raw) > len(str(MAX_SEQ)):  # no int() of a 4,000-digit number
        raise after_out_of_range()
    try:
        after = max(0, int(raw))
    except ValueError:
        return 0
    if after > MAX_SEQ:
        raise after_out_of_range()
    return after


@router.websocket("/api/v1/applications/{application_id}/chat/ws")
async def chat_socket(
    ws: WebSocket, application_id: str, s: Annotated[ChatState, Depends(state_of(ChatState))]
) -> None:
    await ws.accept()
    try:
        after = after_of(ws)
        principal, target, author = await open_target(s, token_of(ws), application_id)
    except DomainError as exc:
        await ws.close(4000 + exc.status, exc.code)
        return
    # (0, frame) to send; (code, reason) to close; (GONE, "") when the client went away.
    queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue()

    def sink(frame: str) -> None:
        if channel.live and queue.qsize() >= LIVE_BACKLOG:
            channel.close(4008, "too_slow_reconnect")
            return
        queue.put_nowait((0, frame))

    def closer(code: int, reason: str) -> None:
        queue.put_nowait((code, reason))

    channel = Channel(s, target, author, principal.session_id, sink, closer)
    reader = asyncio.create_task(_read(ws, channel, queue))
    try:
        await channel.start(after)
        while True:
            code, text = await queue.get()
            if code == 0:
                await ws.send_text(text)
                continue
            if code != GONE:
                await ws.close(code, text)
            return
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass  # the client went away mid-send
    finally:
        reader.cancel()
        channel.stop()


async def _read(ws: WebSocket, channel: Channel, queue: asyncio.Queue[tuple[int, str]]) -> None:
    try:
        while True:
            incoming = await ws.receive()
            if incoming["type"] == "websocket.disconnect":
                return
            text = incoming.get("text")
            if text is None:
                channel.sink(error_frame(Refused("text_frames_only", "Ожидаются текстовые кадры JSON.")))
                continue
            channel.feed(text)
    except (WebSocketDisconnect, RuntimeError, OSError):
        return
    finally:
        with contextlib.suppress(Exception):
            queue.put_nowait((GONE, ""))
