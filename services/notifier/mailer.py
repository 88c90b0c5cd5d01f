"""The e-mail port and its SMTP adapter (aiosmtplib), with a small pool of connections.

A delivery has two steps, so that the sender can tell when the server may have taken the
message: :meth:`Mailer.begin` names sender and recipient on a connection (nothing is
accepted yet), :meth:`Pending.finish` hands the content over (DATA): from there on the
server may have accepted it. The connections stay open between messages.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib
from aiosmtplib.email import flatten_message

_FAILURES = (aiosmtplib.SMTPException, OSError, TimeoutError)


@dataclass(frozen=True)
class Mail:
    """One e-mail, text and HTML, with a Message-ID stable for its event."""

    to: str
    subject: str
    text: str
    html: str
    message_id: str


class MailerUnavailable(Exception):
    """The mail server did not take the message; try again later."""


class Pending(ABC):
    """A message whose envelope the server has taken; its content not yet."""

    @abstractmethod
    async def finish(self) -> None:
        """Send the content (the server accepts it here); raises MailerUnavailable."""


class Mailer(ABC):
    connections: int = 1  # how many messages may be on their way at once

    @abstractmethod
    async def begin(self, mail: Mail) -> Pending:
        """Start ``mail`` on a free connection; raises MailerUnavailable on failure."""

    async def send(self, mail: Mail) -> None:
        """Both steps at once."""
        await (await self.begin(mail)).finish()


class SmtpMailer(Mailer):
    """``connections`` SMTP sessions, opened when first needed and reused; one that fails is
    closed and opened again for the next message."""

    def __init__(
        self, host: str, port: int, sender: str, timeout: float = 10.0, connections: int = 3
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.timeout = timeout
        self.connections = max(1, connections)
        self._free: asyncio.Queue[aiosmtplib.SMTP] = asyncio.Queue()
        for _ in range(self.connections):
            self._free.put_nowait(self._client())

    def _client(self) -> aiosmtplib.SMTP:
        return aiosmtplib.SMTP(
            hostname=self.host, port=self.port, timeout=self.timeout, start_tls=False, use_tls=False
        )

    def build(self, mail: Mail) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = mail.message_id
        message.set_content(mail.text)
        message.add_alternative(mail.html, subtype="html")
        return message

    async def begin(self, mail: Mail) -> Pending:
        content = flatten_message(self.build(mail), cte_type="8bit")
        client = await self._free.get()
        try:
            reused = client.is_connected
            try:
                await self._envelope(client, mail.to)
            except (aiosmtplib.SMTPServerDisconnected, ConnectionError):
                if not reused:
                    raise
                # The server closed an idle session: nothing of this message was taken yet.
                client.close()
                await self._envelope(client, mail.to)
        except _FAILURES as exc:
            self._release(client, broken=True)
            raise MailerUnavailable(f"{type(exc).__name__}: {exc}") from exc
        except BaseException:
            self._release(client, broken=True)
            raise
        return _SmtpPending(self, client, content)

    async def _envelope(self, client: aiosmtplib.SMTP, to: str) -> None:
        if not client.is_connected:
            await client.connect()
        options = ["BODY=8BITMIME"] if client.supports_extension("8BITMIME") else []
        await client.mail(self.sender, options=options)
        await client.rcpt(to)

    def _release(self, client: aiosmtplib.SMTP, *, broken: bool = False) -> None:
        if broken and client.is_connected:
            client.close()
        self._free.put_nowait(client)


@dataclass
class _SmtpPending(Pending):
    mailer: SmtpMailer
    client: aiosmtplib.SMTP
    content: bytes

    async def finish(self) -> None:
        try:
            await self.client.data(self.content)
        except _FAILURES as exc:
            self.mailer._release(self.client, broken=True)
            raise MailerUnavailable(f"{type(exc).__name__}: {exc}") from exc
        except BaseException:
            self.mailer._release(self.client, broken=True)
            raise
        self.mailer._release(self.client)


@dataclass
class FakeMailer(Mailer):
    """Unit-test double: keeps what it was given; can be told to fail."""

    sent: list[Mail] = field(default_factory=list)
    failing: bool = False
    connections: int = 1

    async def begin(self, mail: Mail) -> Pending:
        if self.failing:
            raise MailerUnavailable("fake outage")
        return _FakePending(self, mail)


@dataclass
class _FakePending(Pending):
    mailer: FakeMailer
    mail: Mail

    async def finish(self) -> None:
        if self.mailer.failing:
            raise MailerUnavailable("fake outage")
        self.mailer.sent.append(self.mail)
