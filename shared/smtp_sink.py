"""The embedded default's mail server: real SMTP in, one Maildir file per message out.

``lk run`` starts it on ``LK_SMTP_PORT`` (2525); messages land in ``var/mail/new``. It runs in a
process of its own beside ``lk run`` (:class:`SinkProcess`), as a company's mail server would:
its SMTP sessions and Maildir writes never take the cabinet's GIL.
"""

from __future__ import annotations

import json
import mailbox
import select
import signal
import subprocess
import sys
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


class SinkProcess:
    """:class:`MaildirSink` in a child process (``python -m shared.smtp_sink``). It ends when
    its standard input closes: when ``stop`` closes it, and when the parent ends in any way
    (killed too: the pipe closes with it), so no sink outlives its ``lk run``. A start that
    finds the port still held (the sink of a just-killed ``lk run``, ending) tries again."""

    def __init__(self, folder: Path, host: str, port: int) -> None:
        self.args = [sys.executable, "-m", "shared.smtp_sink", str(folder), host, str(port)]
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def start(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            proc = subprocess.Popen(self.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            assert proc.stdout is not None
            ready, _, _ = select.select([proc.stdout], [], [], max(0.1, deadline - time.monotonic()))
            if ready and proc.stdout.readline().strip() == b"ready":
                self.proc = proc
                return
            proc.kill()
            proc.wait()
            if time.monotonic() >= deadline:
                raise RuntimeError(f"the mail sink did not start on {self.args[-2]}:{self.args[-1]}")
            time.sleep(0.2)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main(argv: list[str]) -> int:
    """The child of :class:`SinkProcess`: serve until standard input closes."""
    folder, host, port = Path(argv[0]), argv[1], int(argv[2])
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches lk run, which stops the sink
    sink = MaildirSink(folder, host, port)
    try:
        sink.start()
    except Exception as exc:  # noqa: BLE001 - the parent sees no "ready" and tries again
        print(f"mail sink: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    try:
        sys.stdin.buffer.read()  # until the parent closes it or ends
    finally:
        sink.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
