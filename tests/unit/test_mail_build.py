"""The message the SMTP adapter sends: what a mail reader shows is what the notifier wrote,
Russian included, and the bytes are 7-bit with short lines, so any SMTP server carries them."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

from services.notifier.mailer import Mail, SmtpMailer

FROM = "Личный кабинет ТП <noreply@lk-tp.local>"
MAIL = Mail(
    to="Иван Петров <ivan@example.ru>",
    subject="Заявка № ТП-2026-000123: Заключение договора ТП — " + "длинная тема " * 8,
    text="Здравствуйте!\n\nСтатус заявки изменён.\n" + "строка " * 400,
    html="<p>Здравствуйте!</p><p>" + "абзац " * 400 + "</p>",
    message_id="<status.0b9c.3@lk-tp.local>",
)


def parsed() -> tuple[bytes, EmailMessage]:
    raw = SmtpMailer("127.0.0.1", 25, FROM).build(MAIL)
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return raw, message


def test_a_reader_sees_the_headers_as_written() -> None:
    _, message = parsed()
    assert message["Subject"] == MAIL.subject
    assert message["From"].addresses[0].display_name == "Личный кабинет ТП"
    assert message["From"].addresses[0].addr_spec == "noreply@lk-tp.local"
    assert message["To"].addresses[0].display_name == "Иван Петров"
    assert message["To"].addresses[0].addr_spec == "ivan@example.ru"
    assert message["Message-ID"] == MAIL.message_id
    assert message["Date"].datetime is not None


def test_both_alternatives_read_back_exactly() -> None:
    _, message = parsed()
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    assert text.get_content() == MAIL.text
    assert html.get_content() == MAIL.html


def test_the_bytes_are_seven_bit_with_short_lines() -> None:
    raw, _ = parsed()
    assert raw.isascii()
    assert max(len(line) for line in raw.split(b"\n")) <= 78
