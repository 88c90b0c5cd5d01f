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
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, parseaddr

import aiosmtplib

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

    def build(self, mail: Mail) -> bytes:
        """The message as sent: text and HTML alternatives, UTF-8 in base64, headers in RFC
        2047 words (the ``utf-8`` charset's defaults), so 7-bit with short lines. Built with
        the ``email`` package's classic (compat32) classes: the modern ``EmailMessage`` parses
        every header it is given back into a structure before writing it out again, which
        cost four times as much CPU per message (the notifier's largest share of a
        submission's work in issue 14's profile)."""
        message = MIMEMultipart("alternative")
        message["From"] = _address(self.sender)
        message["To"] = _address(mail.to)
        message["Subject"] = Header(mail.subject, "utf-8", header_name="Subject").encode()
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = mail.message_id
        message.attach(MIMEText(mail.text, "plain", "utf-8"))
        message.attach(MIMEText(mail.html, "html", "utf-8"))
        return message.as_bytes()

    async def begin(self, mail: Mail) -> Pending:
        content = self.build(mail)
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
        await client.mail(parseaddr(self.sender)[1] or self.sender)
        await client.rcpt(to)

    def _release(self, client: aiosmtplib.SMTP, *, broken: bool = False) -> None:
        if broken and client.is_connected:
            client.close()
        self._free.put_nowait(client)


def _address(value: str) -> str:
    """``Имя <addr>`` with the name as an RFC 2047 word when it is not ASCII."""
    name, address = parseaddr(value)
    return formataddr((name, address), charset="utf-8") if address else value


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
