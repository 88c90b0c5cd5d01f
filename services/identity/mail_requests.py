"""Resend-confirmation and password-reset requests, done off the request path.

The answer to either request must not tell whether the address is registered, neither
by its body nor by its time: a known address costs a look-up and a saved event, an
unknown one nothing. So the API only puts the request in a bounded queue and answers 202
at once, the same for every address; a worker of the identity process takes requests
from the queue, counts them per client address and per e-mail address (past the limits
they are dropped: the answer was the same) and runs the command. A full queue drops
requests too. Requests still queued when the process stops are worked off first (a few
seconds at most); a crash loses them, and the person asks again.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Literal

import structlog

from services.identity.app import IdentityApp
from services.identity.throttle import Throttle
from services.identity.values import Audit
from shared.runtime import blocking

log = structlog.get_logger(__name__)

Kind = Literal["confirmation", "reset"]


@dataclass(frozen=True)
class MailRequest:
    kind: Kind
    email: str
    audit: Audit = field(default_factory=dict)


class MailRequests:
    def __init__(self, identity: IdentityApp, throttle: Throttle, maxsize: int) -> None:
        self.identity = identity
        self.throttle = throttle
        self.queue: asyncio.Queue[MailRequest] = asyncio.Queue(maxsize)

    def submit(self, request: MailRequest) -> None:
        """The whole of the request path: constant work whatever the address."""
        try:
            self.queue.put_nowait(request)
        except asyncio.QueueFull:
            log.warning("identity.mail_request_dropped", reason="queue_full", kind=request.kind)

    async def run(self) -> None:
        while True:
            request = await self.queue.get()
            try:
                await self.handle(request)
            except Exception:
                log.exception("identity.mail_request_failed", kind=request.kind)
            finally:
                self.queue.task_done()

    async def handle(self, request: MailRequest) -> bool:
        """Count the request and run the command; False when a limit dropped it."""
        if not await self.throttle.mail_allowed(request.email, request.audit.get("ip", "")):
            log.info("identity.mail_request_dropped", reason="throttled", kind=request.kind)
            return False
        command = (
            self.identity.resend_confirmation
            if request.kind == "confirmation"
            else self.identity.request_password_reset
        )
        await blocking(command, request.email, request.audit)
        return True

    async def drain(self, timeout: float) -> None:
        """Wait (at most ``timeout``) until the queued requests are done."""
        try:
            await asyncio.wait_for(self.queue.join(), timeout)
        except TimeoutError:
            log.warning("identity.mail_requests_left", count=self.queue.qsize())
