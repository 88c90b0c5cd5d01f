"""The embedded mail sink drops a repeated Message-ID — and counts it, so no test is fooled."""

from __future__ import annotations

import smtplib
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

from shared.smtp_sink import MaildirSink, SinkProcess, mail_stats
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


def test_the_sink_process_serves_and_ends_with_its_parent(tmp_path: Path) -> None:
    """``lk run``'s sink runs beside it; killed, the parent leaves no sink behind (the child's
    pipe closes), and a new sink can take the port at once."""
    port = free_port()
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from shared.smtp_sink import SinkProcess;"
            f" s = SinkProcess(Path({str(tmp_path / 'mail')!r}), '127.0.0.1', {port}); s.start();"
            " print(s.pid, flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        smtp.sendmail("a@lk.local", ["b@example.ru"], b"Subject: one\r\n\r\ntext")
    assert mail_stats(tmp_path / "mail")["kept"] == 1
    parent.kill()
    parent.wait()
    again = SinkProcess(tmp_path / "mail", "127.0.0.1", port)
    again.start()  # the port is free again (or soon: start tries again)
    try:
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.sendmail("a@lk.local", ["b@example.ru"], b"Subject: two\r\n\r\ntext")
    finally:
        again.stop()
    assert mail_stats(tmp_path / "mail")["kept"] == 2
    for _ in range(100):  # the killed parent's sink ended (reaped by init)
        if not Path(f"/proc/{child}").exists():
            break
        time.sleep(0.05)
    assert not Path(f"/proc/{child}").exists()
