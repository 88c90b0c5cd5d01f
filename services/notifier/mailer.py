"""The e-mail port and its SMTP adapter (aiosmtplib)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib


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


class Mailer(ABC):
    @abstractmethod
    async def send(self, mail: Mail) -> None:
        """Hand ``mail`` to the mail server; raises MailerUnavailable on failure."""


class SmtpMailer(Mailer):
    def __init__(self, host: str, port: int, sender: str, timeout: float = 10.0) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.timeout = timeout

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

    async def send(self, mail: Mail) -> None:
        try:
            await aiosmtplib.send(
                self.build(mail),
                hostname=self.host,
                port=self.port,
                timeout=self.timeout,
                start_tls=False,
                use_tls=False,
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise MailerUnavailable(f"{type(exc).__name__}: {exc}") from exc


@dataclass
class FakeMailer(Mailer):
    """Unit-test double: keeps what it was given; can be told to fail."""

    sent: list[Mail] = field(default_factory=list)
    failing: bool = False

    async def send(self, mail: Mail) -> None:
        if self.failing:
            raise MailerUnavailable("fake outage")
        self.sent.append(mail)
