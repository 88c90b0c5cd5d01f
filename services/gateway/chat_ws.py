"""The chat's live socket at the edge: ``ws /api/v1/applications/{id}/chat/ws?after=N``.

The gateway authenticates the socket the same way as HTTP — ``Authorization: Bearer``,
``?access_token=`` or the session cookie, checked with ``app.state.auth`` — and, for the
cookie (which the browser attaches by itself), refuses a handshake whose ``Origin`` is not
the cabinet's own (cross-site WebSocket hijacking). It then opens a channel for the socket
on its link to the chat service, with the user's token, and pumps frames both ways. The
chat service authenticates the channel again and decides access to the thread; it closes
with 4404 (not found / not yours) or 4401 (not authenticated, session ended), which the
gateway passes on unchanged.

The link (one WebSocket per gateway process, protocol in :mod:`shared.chatlink`) carries every
browser socket of this gateway, so an open socket costs the chat service no connection of
its own and the gateway no outgoing one. It goes to one of the chat's replicas (each gateway
starts at one of them by chance, so gateways spread over them; every replica pushes what the
others commit). If the link drops (that chat process died or restarts), the browsers' sockets
close with 1012, the pages reconnect with ``?after=`` — nothing lost — and the next link is
opened to the next replica that takes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
from urllib.parse import urlsplit

import structlog
from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from shared import chatlink
from shared.auth import Authenticator
from shared.chatlink import CLOSE, FRAME, LINK_HEADER, LINK_PATH, MAX_FRAME, OPEN, Opening
from shared.http import ApiError
from shared.settings import Settings

log = structlog.get_logger(__name__)
router = APIRouter()

BACKLOG = 1024  # frames waiting for a slow browser before it is told to reconnect (4008)
RESTARTING = (1012, "chat_restarting")
UNAVAILABLE = (1013, "service_unavailable")
# Close codes a server may send on (RFC 6455 §7.4); anything else becomes 1011.
_PASSABLE = {1000, 1001, 1003, 1007, 1008, 1009, 1011, 1012, 1013}


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def token_of(ws: WebSocket, cookie_name: str) -> tuple[str, bool] | None:
    """(token, came_from_cookie): the bearer header, ``?access_token=`` or the session cookie."""
    scheme, _, value = ws.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip(), False
    query = ws.query_params.get("access_token")
    if query:
        return query, False
    cookie = ws.cookies.get(cookie_name)
    return (cookie, True) if cookie else None


class Browser:
    """One browser socket's frames from the chat, waiting for its writer."""

    def __init__(self) -> None:
        self.channel = ""
        self.queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue()  # (0, frame) or (code, reason)
        self.closing = False

    def push(self, frame: str) -> None:
        if self.closing:
            return
        if self.queue.qsize() >= BACKLOG:
            self.close(4008, "too_slow_reconnect")
            return
        self.queue.put_nowait((0, frame))

    def close(self, code: int, reason: str) -> None:
        if not self.closing:
            self.closing = True
            self.queue.put_nowait((code, reason))


def link_urls(settings: Settings) -> list[str]:
    """The link's address at each replica of the chat service (one when it is reached by name)."""
    return [
        url.replace("http://", "ws://", 1).replace("https://", "wss://", 1) + LINK_PATH
        for url in settings.urls_of("chat")
    ]


class ChatLink:
    """This gateway's one WebSocket to the chat service; channel ids are local to it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.urls = link_urls(settings)
        self.target = random.randrange(len(self.urls))  # the replica tried first
        self.ws: ClientConnection | None = None
        self.browsers: dict[str, Browser] = {}
        self._ids = itertools.count(1)
        self._connecting = asyncio.Lock()
        self._reader: asyncio.Task[None] | None = None

    async def _connection(self) -> ClientConnection:
        async with self._connecting:
            if self.ws is None:
                self.ws = await self._connect()
                self._reader = asyncio.create_task(self._read(self.ws))
            return self.ws

    async def _connect(self) -> ClientConnection:
        """The link to the first replica, from ``target`` on, that takes it; the last one's
        error if none does."""
        refused: Exception | None = None
        for attempt in range(len(self.urls)):
            index = (self.target + attempt) % len(self.urls)
            try:
                ws = await connect(
                    self.urls[index],
                    additional_headers={LINK_HEADER: chatlink.link_key(self.settings.secret())},
                    compression=None,
                    max_size=None,  # batches of frames; each frame is limited where it is made
                    max_queue=None,
                    open_timeout=5,
                )
            except (OSError, TimeoutError, InvalidHandshake) as exc:
                log.warning("chat_link.refused", url=self.urls[index], error=str(exc))
                refused = exc
                continue
            self.target = index
            log.info("chat_link.connected", url=self.urls[index])
            return ws
        assert refused is not None  # a service has at least one replica
        raise refused

    async def open(self, browser: Browser, token: str, application_id: str, after: str) -> None:
        ws = await self._connection()
        browser.channel = str(next(self._ids))
        self.browsers[browser.channel] = browser
        opening = Opening(application_id, token, int(after) if after.isdigit() else 0)
        await ws.send(chatlink.line(browser.channel, OPEN, opening.body()))

    async def send(self, browser: Browser, frame: str) -> None:
        ws = self.ws
        if ws is None or browser.channel not in self.browsers:
            browser.close(*RESTARTING)
            return
        await ws.send(chatlink.line(browser.channel, FRAME, frame))

    async def leave(self, browser: Browser) -> None:
        if self.browsers.pop(browser.channel, None) is not None and self.ws is not None:
            with contextlib.suppress(ConnectionClosed):
                await self.ws.send(chatlink.line(browser.channel, CLOSE))

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for message in ws:
                text = message if isinstance(message, str) else message.decode()
                for line in chatlink.lines_of(text):
                    channel, kind, body = chatlink.parse(line)
                    browser = self.browsers.get(channel)
                    if browser is None:
                        continue
                    if kind == FRAME:
                        browser.push(body)
                    elif kind == CLOSE:
                        del self.browsers[channel]
                        browser.close(*chatlink.parse_closing(body))
        except ConnectionClosed:
            pass
        finally:
            log.warning("chat_link.lost", url=self.urls[self.target])
            if self.ws is ws:
                self.ws = None
                self.target = (self.target + 1) % len(self.urls)  # that replica may be gone
            for browser in self.browsers.values():
                browser.close(*RESTARTING)
            self.browsers.clear()


def chat_link(ws: WebSocket) -> ChatLink:
    state = ws.app.state
    link: ChatLink | None = getattr(state, "chat_link", None)
    if link is None:
        link = state.chat_link = ChatLink(state.settings)
    return link


@router.websocket("/api/v1/applications/{application_id}/chat/ws")
async def chat_socket(ws: WebSocket, application_id: str) -> None:
    settings: Settings = ws.app.state.settings
    found = token_of(ws, settings.session_cookie)
    if found is not None and found[1]:
        origin = ws.headers.get("origin", "").lower()
        if origin != origin_of(settings.public_url):
            await ws.close(1008)  # before accept: the handshake is refused with 403
            return
    auth: Authenticator = ws.app.state.auth
    try:
        if found is None:
            raise ApiError(401, "not_authenticated", "Требуется вход в личный кабинет.")
        await auth.authenticate(found[0])
    except ApiError as exc:
        await ws.accept()
        await ws.close(4000 + exc.status, exc.code)
        return
    link = chat_link(ws)
    browser = Browser()
    try:
        await link.open(browser, found[0], application_id, ws.query_params.get("after", ""))
    except (OSError, TimeoutError, InvalidHandshake, ConnectionClosed) as exc:
        log.warning("chat_ws.chat_unavailable", error=str(exc))
        await ws.accept()
        await ws.close(*UNAVAILABLE)
        return
    await ws.accept()
    writer = asyncio.create_task(_write(ws, browser))
    try:
        while True:
            incoming = await ws.receive()
            if incoming["type"] == "websocket.disconnect":
                break
            text = incoming.get("text")
            if text is None:
                continue  # the chat speaks JSON text frames only
            if len(text) > MAX_FRAME:
                browser.close(1009, "frame_too_big")
                continue
            await link.send(browser, text)
    except (WebSocketDisconnect, ConnectionClosed, RuntimeError, OSError):
        pass
    finally:
        writer.cancel()
        await link.leave(browser)


async def _write(ws: WebSocket, browser: Browser) -> None:
    try:
        while True:
            code, text = await browser.queue.get()
            if code == 0:
                await ws.send_text(text)
                continue
            if not (code in _PASSABLE or 3000 <= code <= 4999):
                code = 1011
            if ws.client_state is WebSocketState.CONNECTED:
                await ws.close(code, text)
            return
    except (RuntimeError, OSError):
        return  # the browser went away
