"""The embedded default's mail server: real SMTP in, one Maildir file per message out.

``lk run`` starts it on ``LK_SMTP_PORT`` (2525); messages land in ``var/mail/new``.
"""

from __future__ import annotations

import json
import mailbox
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

DROPPED = "dropped.jsonl"  # beside new/ and cur/: one line per duplicate the sink dropped
SESSIONS = "sessions.log"  # one line per SMTP session a client opened (a pooled sender opens few)


class _MaildirHandler:
    """Keeps each message once: a resend with the same Message-ID (the notifier's retry
    after a crash between "250" and its own bookkeeping) is accepted and dropped, as a
    receiving mail system that deduplicates would — and counted in ``dropped.jsonl``, so a
    duplicate is never hidden from whoever checks (``lk mail stats``, the tests)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.box = mailbox.Maildir(folder, create=True)
        self.headers = BytesHeaderParser()
        self.seen = {str(message["Message-ID"]) for message in self.box if message["Message-ID"]}

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        content: bytes = envelope.original_content or envelope.content
        message = self.headers.parsebytes(content)  # the headers only; the body is kept as sent
        message_id = str(message["Message-ID"] or "")
        if message_id and message_id in self.seen:
            record = {"message_id": message_id, "to": str(message["To"]), "at": time.time()}
            with (self.folder / DROPPED).open("a", encoding="utf-8") as out:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
            return "250 Duplicate message ignored"
        self.box.add(content)
        if message_id:
            self.seen.add(message_id)
        return "250 Message accepted for delivery"

    def session_opened(self) -> None:
        with (self.folder / SESSIONS).open("a", encoding="utf-8") as out:
            out.write(f"{time.time()}\n")


class _CountingSMTP(SMTP):
    """aiosmtpd's server, telling the handler of every client session (its greeting: a client
    says EHLO once per connection; the controller's own check at start says nothing)."""

    async def smtp_EHLO(self, hostname: str) -> None:  # noqa: N802 - aiosmtpd's command name
        await super().smtp_EHLO(hostname)
        self.event_handler.session_opened()

    async def smtp_HELO(self, hostname: str) -> None:  # noqa: N802 - aiosmtpd's command name
        await super().smtp_HELO(hostname)
        self.event_handler.session_opened()


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _CountingSMTP(self.handler, **self.SMTP_kwargs)


class MaildirSink:
    """A started/stopped SMTP server that keeps every message under ``folder``."""

    def __init__(self, folder: Path, host: str, port: int) -> None:
        self.folder = folder
        self.controller = _Controller(_MaildirHandler(folder), hostname=host, port=port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


def read_maildir(folder: Path) -> list[EmailMessage]:
    """Every message in the Maildir, oldest first (by file time)."""
    out: list[tuple[float, EmailMessage]] = []
    for sub in ("new", "cur"):
        directory = folder / sub
        if not directory.is_dir():
            continue
        for path in directory.iterdir():
            msg = message_from_bytes(path.read_bytes(), policy=policy.default)
            assert isinstance(msg, EmailMessage)
            out.append((path.stat().st_mtime, msg))
    return [m for _, m in sorted(out, key=lambda pair: pair[0])]


def dropped_count(folder: Path) -> int:
    """How many duplicates the embedded sink dropped (cheap: one small file)."""
    dropped = folder / DROPPED
    return len(dropped.read_text(encoding="utf-8").splitlines()) if dropped.exists() else 0


def session_count(folder: Path) -> int:
    """How many SMTP connections the embedded sink accepted."""
    sessions = folder / SESSIONS
    return len(sessions.read_text(encoding="utf-8").splitlines()) if sessions.exists() else 0


def mail_stats(folder: Path) -> dict[str, int]:
    """What the embedded sink kept, what it dropped as duplicates, how many sessions it had."""
    kept = sum(len(list((folder / sub).iterdir())) for sub in ("new", "cur") if (folder / sub).is_dir())
    return {"kept": kept, "dropped_duplicates": dropped_count(folder), "sessions": session_count(folder)}
