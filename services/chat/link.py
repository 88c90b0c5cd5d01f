"""The gateway's link: one WebSocket from each gateway process that carries the chat sockets
of all its browsers as channels (``ws /internal/chat/link``).

Why: a browser's socket then costs the chat service a :class:`~services.chat.channel.Channel`
(about a kilobyte) instead of a WebSocket connection of its own (about 30 KB), and the gateway
no outgoing connection per browser; frames for many channels travel in one WebSocket message.

Only a gateway may open it: the ``X-Chat-Link`` header must carry an HMAC of the service
secret (:func:`link_key`). Each channel is still authenticated with its user's token, exactly
as a socket of its own. Lines (UTF-8 text; the chat batches several per message, one per line):

  gateway → chat   ``<c>|o|{"application_id", "token", "after"}``  open channel c
                   ``<c>|f|<client frame>``                        one client frame
                   ``<c>|x|``                                      the browser went away
  chat → gateway   ``<c>|f|<frame>``                               a frame for the browser
                   ``<c>|x|<code>:<reason>``                       close the browser's socket

If the link drops, the gateway closes its browsers' sockets with 1012; they reconnect and resume.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import structlog
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from services.chat.api import MAX_SEQ, state
from services.chat.channel import Channel, after_out_of_range, open_target, stop_soon
from shared.http import ApiError

log = structlog.get_logger(__name__)
router = APIRouter()

LINK_PATH = "/internal/chat/link"
LINK_HEADER = "x-chat-link"
MAX_OUT = 200_000  # lines waiting for the gateway before the link is given up (the gateway reconnects)
BATCH = 256


def link_key(secret: str) -> str:
    return hmac.new(secret.encode(), b"lk-chat-link-v1", hashlib.sha256).hexdigest()


class _Link:
    def __init__(self, ws: WebSocket, s: Any) -> None:
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
        self.out.put_nowait(f"{channel}|{kind}|{body}")

    async def write(self) -> None:
        while True:
            batch = [await self.out.get()]
            while not self.out.empty() and len(batch) < BATCH:
                batch.append(self.out.get_nowait())
            await self.ws.send_text("\n".join(batch))

    def receive(self, text: str) -> None:
        c, _, rest = text.partition("|")
        kind, _, body = rest.partition("|")
        if kind == "f":
            channel = self.channels.get(c)
            if channel is not None:
                channel.feed(body)
            elif c in self.early:
                self.early[c].append(body)
        elif kind == "o" and c not in self.channels:
            self.channels[c] = None
            self.early[c] = []
            task = asyncio.create_task(self.open(c, body))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        elif kind == "x":
            self.early.pop(c, None)
            channel = self.channels.pop(c, None)
            if channel is not None:
                channel.stop()

    async def open(self, c: str, body: str) -> None:
        try:
            spec = json.loads(body)
            token, application_id = str(spec["token"]), str(spec["application_id"])
            after = max(0, int(spec.get("after") or 0))
            if after > MAX_SEQ:
                raise after_out_of_range()
            principal, target, author = await open_target(self.s, token, application_id)
        except ApiError as exc:
            self._refuse(c, f"{4000 + exc.status}:{exc.code}")
            return
        except (ValueError, KeyError, TypeError):
            self._refuse(c, "1008:bad_open")
            return
        if c not in self.channels:
            return  # the browser left while we were checking

        def closer(code: int, reason: str) -> None:
            self.line(c, "x", f"{code}:{reason}")
            if self.channels.get(c) is channel:
                del self.channels[c]
            stop_soon(channel)

        channel = Channel(
            self.s, target, author, principal.session_id, lambda frame: self.line(c, "f", frame), closer
        )
        self.channels[c] = channel
        for raw in self.early.pop(c, []):
            channel.feed(raw)
        try:
            await channel.start(after)
        except Exception:
            log.exception("chat.link_channel_failed", channel=c)
            channel.close(1011, "internal_error")

    def _refuse(self, c: str, reason: str) -> None:
        self.early.pop(c, None)
        if c in self.channels:
            del self.channels[c]
            self.line(c, "x", reason)

    def close_all(self) -> None:
        for task in self.tasks:
            task.cancel()
        for channel in self.channels.values():
            if channel is not None:
                channel.stop()
        self.channels.clear()


@router.websocket(LINK_PATH)
async def chat_link(ws: WebSocket) -> None:
    s = state(ws)
    if not hmac.compare_digest(ws.headers.get(LINK_HEADER, ""), link_key(s.settings.secret())):
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
