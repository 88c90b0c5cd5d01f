"""The embedded mail sink drops a repeated Message-ID — and counts it, so no test is fooled."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from pathlib import Path

from shared.smtp_sink import MaildirSink, mail_stats
from tests.harness import free_port


def test_a_repeated_message_id_is_dropped_and_counted(tmp_path: Path) -> None:
    port = free_port()
    sink = MaildirSink(tmp_path / "mail", "127.0.0.1", port)
    sink.start()
    try:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "a@lk.local", "b@example.ru", "Тест"
        message["Message-ID"] = "<same@lk-tp.local>"
        message.set_content("Текст")
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.send_message(message)
            smtp.send_message(message)  # the notifier's resend after a crash
            del message["Message-ID"]
            message["Message-ID"] = "<other@lk-tp.local>"
            smtp.send_message(message)
    finally:
        sink.stop()
    # three messages over one connection: one session
    assert mail_stats(tmp_path / "mail") == {"kept": 2, "dropped_duplicates": 1, "sessions": 1}
