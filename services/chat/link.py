"""The gateway's link: one WebSocket from each gateway process that carries the chat sockets
of all its browsers as channels (``ws /internal/chat/link``; the protocol is shared/chatlink.py).

Why: a browser's socket then costs the chat service a :class:`~services.chat.channel.Channel`
(about a kilobyte) instead of a WebSocket connection of its own (about 30 KB), and the gateway
no outgoing connection per browser; frames for many channels travel in one WebSocket message.
Only a gateway may open it (``X-Chat-Link``); each channel is still authenticated with its
user's token, exactly as a socket of its own.

If the link drops, the gateway closes its browsers' sockets with 1012; they reconnect and resume.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from collections.abc import Callable
from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, WebSocket, WebSocketDisconnect

from services.chat.channel import Channel, after_out_of_range, open_target, stop_soon
from services.chat.models import MAX_SEQ
from services.chat.usecases import ChatState
from shared import chatlink
from shared.chatlink import CLOSE, FRAME, LINK_HEADER, LINK_PATH, OPEN, Opening
from shared.errors import DomainError
from shared.service import state_of

log = structlog.get_logger(__name__)
router = APIRouter()

MAX_OUT = 200_000  # lines waiting for the gateway before the link is given up (the gateway reconnects)
BATCH = 256


class _Link:
    def __init__(self, ws: WebSocket, s: ChatState) -> None:
        self.ws = ws
        self.s = s
        self.out: asyncio.Queue[str] = asyncio.Queue()
        self.channels: dict[str, Channel | None] = {}  # None while opening
        self.early: dict[str, list[str]] = {}  # client frames that came while opening
        self.tasks: set[asyncio.Task[None]] = set()
        self.on_broken: Callable[[], None] = lambda: None

    def line(self, channel: str, kind: str, body: str = "") -> None:
        if self.out.qsize() >= MAX_OUT:
            self.on_broken()  # the gateway does not read: drop the link, it reconnects
            return
        self.out.put_nowait(chatlink.line(channel, kind, body))

    async def write(self) -> None:
        while True:
            batch = [await self.out.get()]
            while not self.out.empty() and len(batch) < BATCH:
                batch.append(self.out.get_nowait())
            await self.ws.send_text(chatlink.batch(batch))

    def receive(self, text: str) -> None:
        c, kind, body = chatlink.parse(text)
        if kind == FRAME:
            channel = self.channels.get(c)
            if channel is not None:
                channel.feed(body)
            elif c in self.early:
                self.early[c].append(body)
        elif kind == OPEN and c not in self.channels:
            self.channels[c] = None
            self.early[c] = []
            task = asyncio.create_task(self.open(c, body))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        elif kind == CLOSE:
            self.early.pop(c, None)
            channel = self.channels.pop(c, None)
            if channel is not None:
                channel.stop()

    async def open(self, c: str, body: str) -> None:
        try:
            opening = Opening.parse(body)
            if opening.after > MAX_SEQ:
                raise after_out_of_range()
            principal, target, author = await open_target(self.s, opening.token, opening.application_id)
        except DomainError as exc:
            self._refuse(c, chatlink.closing(4000 + exc.status, exc.code))
            return
        except (ValueError, KeyError, TypeError):
            self._refuse(c, chatlink.closing(1008, "bad_open"))
            return
        if c not in self.channels:
            return  # the browser left while we were checking

        def closer(code: int, reason: str) -> None:
            self.line(c, CLOSE, chatlink.closing(code, reason))
            if self.channels.get(c) is channel:
                del self.channels[c]
            stop_soon(channel)

        channel = Channel(
            self.s, target, author, principal.session_id, lambda frame: self.line(c, FRAME, frame), closer
        )
        self.channels[c] = channel
        for raw in self.early.pop(c, []):
            channel.feed(raw)
        try:
            await channel.start(opening.after)
        except Exception:
            log.exception("chat.link_channel_failed", channel=c)
            channel.close(1011, "internal_error")

    def _refuse(self, c: str, reason: str) -> None:
        self.early.pop(c, None)
        if c in self.channels:
            del self.channels[c]
            self.line(c, CLOSE, reason)

    def close_all(self) -> None:
        for task in self.tasks:
            task.cancel()
        for channel in self.channels.values():
            if channel is not None:
                channel.stop()
        self.channels.clear()


@router.websocket(LINK_PATH)
async def chat_link(ws: WebSocket, s: Annotated[ChatState, Depends(state_of(ChatState))]) -> None:
    if not hmac.compare_digest(ws.headers.get(LINK_HEADER, ""), chatlink.link_key(s.settings.secret())):
        await ws.close(1008)  # before accept: the handshake is refused with 403
        return
    await ws.accept()
    link = _Link(ws, s)
    main = asyncio.current_task()
    ending = False

    def give_up(_: object = None) -> None:
        if not ending and main is not None:
            main.cancel()  # the writer failed, or the gateway stopped reading

    link.on_broken = give_up
    writer = asyncio.create_task(link.write())
    writer.add_done_callback(give_up)
    log.info("chat.link_opened")
    try:
        while True:
            incoming = await ws.receive()
            if incoming["type"] == "websocket.disconnect":
                break
            if incoming.get("text"):
                link.receive(incoming["text"])
    except (WebSocketDisconnect, RuntimeError, OSError, asyncio.CancelledError):
        pass
    finally:
        ending = True
        link.close_all()
        writer.cancel()
        with contextlib.suppress(Exception):
            await ws.close(1011)
        log.info("chat.link_closed")
