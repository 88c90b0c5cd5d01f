"""shared/cli.py QuietServer: uvicorn's housekeeping once a second (not ten times), the date
header still current, and a stop request still obeyed."""

from __future__ import annotations

import asyncio
import socket
import time
from email.utils import parsedate_to_datetime

import httpx
import pytest
import uvicorn
from starlette.responses import PlainTextResponse
from starlette.types import Receive, Scope, Send

from shared.cli import QuietServer


async def hello(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        await PlainTextResponse("ok")(scope, receive, send)


class Counted(QuietServer):
    ticks = 0

    async def on_tick(self, counter: int) -> bool:
        self.ticks += 1
        return await super().on_tick(counter)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_the_server_ticks_once_a_second_keeps_the_date_and_stops_when_told() -> None:
    port = free_port()
    server = Counted(uvicorn.Config(hello, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn has no started event
            await asyncio.sleep(0.01)
        ticks, watched = server.ticks, time.monotonic()
        await asyncio.sleep(2.5)
        elapsed = time.monotonic() - watched
        # Uvicorn's own loop ticks every 0.1 s (25 times here); this one at each second's turn.
        assert server.ticks - ticks <= elapsed + 1
        async with httpx.AsyncClient() as http:
            answer = await http.get(f"http://127.0.0.1:{port}/")
        assert answer.text == "ok"
        sent = parsedate_to_datetime(answer.headers["date"]).timestamp()
        assert abs(sent - time.time()) < 2.0  # the header follows the clock (second resolution)
        server.should_exit = True
        await asyncio.wait_for(serving, 15)
    finally:
        if not serving.done():
            serving.cancel()
            with pytest.raises(asyncio.CancelledError):
                await serving
