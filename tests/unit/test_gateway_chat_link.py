"""The gateway's chat link with several chat replicas (issue 15): it opens to a replica that
takes it, passing over one that is gone, and after losing its replica the next link goes to
another one. Stand-in chat ends (real WebSocket servers on free ports) only accept the link
and record who came; the link's own code is the gateway's."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from websockets.asyncio.server import Server, ServerConnection, serve

from services.gateway.chat_ws import Browser, ChatLink, link_urls
from shared.chatlink import LINK_PATH
from shared.settings import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ChatEnd:
    """One replica's end of the link: who connected, and a way to drop them (its death)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.links: list[ServerConnection] = []

    async def handle(self, ws: ServerConnection) -> None:
        assert ws.request is not None and ws.request.path == LINK_PATH
        self.links.append(ws)
        await ws.wait_closed()


@asynccontextmanager
async def chat_end(end: ChatEnd, port: int) -> AsyncIterator[Server]:
    async with serve(end.handle, "127.0.0.1", port) as server:
        yield server


def settings_for(ports: list[int]) -> Settings:
    return Settings(mode="stack", replicas=len(ports), secret_key="s" * 32, replica_ports={"chat": ports})


def test_one_link_url_per_replica_and_one_for_a_name() -> None:
    ports = [free_port(), free_port()]
    assert link_urls(settings_for(ports)) == [f"ws://127.0.0.1:{p}{LINK_PATH}" for p in ports]
    named = Settings(mode="stack", replicas=3, service_urls={"chat": "http://chat:8103"})
    assert link_urls(named) == [f"ws://chat:8103{LINK_PATH}"]  # the name resolves to every one


def test_the_link_passes_over_a_dead_replica_and_moves_on_when_its_replica_dies() -> None:
    dead, first, second = free_port(), free_port(), free_port()

    async def scenario() -> None:
        a, b = ChatEnd("a"), ChatEnd("b")
        async with chat_end(a, first) as server_a, chat_end(b, second):
            link = ChatLink(settings_for([dead, first, second]))
            link.target = 0  # nothing listens there: passed over
            browser = Browser()
            await link.open(browser, "token", "application", "0")
            assert (len(a.links), len(b.links), link.target) == (1, 0, 1)
            # That replica dies: the browser's socket is told to reconnect (1012) ...
            server_a.close()
            await asyncio.wait_for(server_a.wait_closed(), 10)
            assert await asyncio.wait_for(browser.queue.get(), 10) == (1012, "chat_restarting")
            await asyncio.wait_for(_until_lost(link), 10)
            # ... and the page's next socket gets a link to the next replica.
            await link.open(Browser(), "token", "application", "3")
            assert (len(a.links), len(b.links), link.target) == (1, 1, 2)
            assert link.ws is not None
            await link.ws.close()

    asyncio.run(scenario())


def test_with_every_replica_gone_the_open_fails() -> None:
    async def scenario() -> None:
        link = ChatLink(settings_for([free_port(), free_port()]))
        try:
            await link.open(Browser(), "token", "application", "0")
        except OSError:
            return
        raise AssertionError("a link opened with no chat replica listening")

    asyncio.run(scenario())


async def _until_lost(link: ChatLink) -> None:
    while link.ws is not None:  # noqa: ASYNC110 - the link's reader lets go of it
        await asyncio.sleep(0.01)
