"""E-mail about chat messages that wait unread: the loop that sends what is due.

:class:`ChatMailScheduler` turns a due thread (services/notifier/chat_mail.py keeps what
waits) into one row of the notifier's mail outbox, keyed by a deterministic id (thread,
side, last unread seq), removing the waiting entry in the same transaction: a crash repeats
nothing, and the outbox's Sender delivers it once. The address and the application's number
come from the shared reference rows; one of a moment ago is waited for exactly.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable

import structlog

from services.notifier.chat_mail import ChatMailConfig
from services.notifier.outbox import CHAT_DIGEST, enqueue, render
from shared import format as fmt
from shared.readstore import ReadStore, Row, Tx
from shared.references import Lookup

log = structlog.get_logger(__name__)

_MAIL_NS = uuid.UUID("3c7d9a51-0e62-4f0b-a8f4-5b2e61d9c7a3")
KIND = CHAT_DIGEST
SHOWN = 10  # newest unread messages quoted in one e-mail
RETRY = 30.0  # the address has not arrived yet: due again this much later
TICK = 0.2  # the shortest sleep between passes
RETRY_FAILED = 1.0  # a pass failed (the store is down): the next one this much later


def mail_id(thread_id: str, side: str, last_seq: int) -> str:
    return str(uuid.uuid5(_MAIL_NS, f"chat/{thread_id}/{side}/{last_seq}"))


class ChatMailScheduler:
    """Enqueues the e-mail of every thread whose unread messages are due."""

    def __init__(
        self,
        store: ReadStore,
        config: ChatMailConfig,
        public_url: str,
        refs: Lookup,
        on_enqueued: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.time,
        idle: float = 10.0,
    ) -> None:
        self.store = store
        self.config = config
        self.public_url = public_url.rstrip("/")
        self.refs = refs  # notifier.refs: accounts and applications
        self.on_enqueued = on_enqueued
        self.clock = clock
        self.idle = idle  # the longest sleep: the slow fallback poll (decision record 29)
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """A message or a read receipt was applied: its thread's due time may have changed."""
        self._wake.set()

    async def next_due_in(self) -> float:
        """Seconds until the earliest waiting thread is due, within [TICK, idle]."""
        due = await self.store.fetchval("SELECT MIN(due_at) FROM notifier_chat_waiting")
        wait = self.idle if due is None else float(due) - self.clock()
        return max(TICK, min(self.idle, wait))

    async def run_due(self) -> int:
        """One pass; returns how many e-mails were enqueued."""
        now = self.clock()
        due = await self.store.fetch(
            "SELECT thread_id, side, applicant_id FROM notifier_chat_waiting WHERE due_at <= $1"
            " ORDER BY due_at LIMIT 100",
            now,
        )
        enqueued = 0
        for row in due:
            if await self._one(row, now):
                enqueued += 1
        if enqueued:
            self.on_enqueued()
        return enqueued

    async def _one(self, due: Row, now: float) -> bool:
        thread_id, side = str(due["thread_id"]), str(due["side"])
        # Looked up before the transaction: a row of a moment ago is waited for, not held for.
        recipient = await self._recipient(side, str(due["applicant_id"]))
        application = await self.refs.row("applications", thread_id)
        number = str(application["number"]) if application else ""
        async with self.store.transaction() as tx:
            mailed = await tx.fetchval(
                "SELECT mailed_at FROM notifier_chat_mailed WHERE thread_id = $1 AND side = $2",
                thread_id,
                side,
            )
            if mailed is not None and now - float(mailed) < self.config.interval:
                # At most one e-mail per thread per interval: wait for the interval's end.
                await tx.execute(
                    "UPDATE notifier_chat_waiting SET due_at = $3 WHERE thread_id = $1 AND side = $2",
                    thread_id,
                    side,
                    float(mailed) + self.config.interval,
                )
                return False
            # Taking the row (DELETE … RETURNING) decides the race with a read receipt: whoever
            # commits first wins; a receipt that removed it first means nothing is sent.
            taken = await tx.fetchrow(
                "DELETE FROM notifier_chat_waiting WHERE thread_id = $1 AND side = $2 AND due_at <= $3"
                " RETURNING applicant_id, first_seq, last_seq",
                thread_id,
                side,
                now,
            )
            if taken is None:
                return False
            if not recipient:
                # The address has not arrived yet (identity.events lag): try again shortly.
                await tx.execute(
                    "INSERT INTO notifier_chat_waiting (thread_id, side, applicant_id, first_seq, last_seq, due_at)"
                    " VALUES ($1, $2, $3, $4, $5, $6)",
                    thread_id,
                    side,
                    taken["applicant_id"],
                    taken["first_seq"],
                    taken["last_seq"],
                    now + RETRY,
                )
                return False
            count = await self._enqueue(tx, thread_id, side, int(taken["last_seq"]), recipient, number)
            await tx.execute(
                "INSERT INTO notifier_chat_mailed (thread_id, side, mailed_at) VALUES ($1, $2, $3)"
                " ON CONFLICT (thread_id, side) DO UPDATE SET mailed_at = excluded.mailed_at",
                thread_id,
                side,
                now,
            )
            await tx.execute(
                "DELETE FROM notifier_chat_messages WHERE thread_id = $1 AND side = $2 AND seq <= $3",
                thread_id,
                side,
                taken["last_seq"],
            )
        log.info("chat_mail.enqueued", thread=thread_id, side=side, messages=count)
        return True

    async def _enqueue(
        self, tx: Tx, thread_id: str, side: str, last_seq: int, recipient: str, number: str
    ) -> int:
        """The outbox row of the thread's unread messages up to ``last_seq``; how many."""
        messages = await tx.fetch(
            "SELECT seq, author_name, author_role, text, files, at FROM notifier_chat_messages"
            " WHERE thread_id = $1 AND side = $2 AND seq <= $3 ORDER BY seq",
            thread_id,
            side,
            last_seq,
        )
        text, html = render(
            "chat_unread",
            number=number,
            to_staff=side == "staff",
            count=len(messages),
            messages=[_quoted(m) for m in messages[-SHOWN:]],
            more=max(0, len(messages) - SHOWN),
            link=f"{self.public_url}/applications/{thread_id}",
        )
        subject = f"Новое сообщение по заявке {number}" if number else "Новое сообщение в переписке по заявке"
        key = mail_id(thread_id, side, last_seq)
        await enqueue(tx, key, KIND, recipient, subject + " — Личный кабинет ТП", text, html)
        return len(messages)

    async def _recipient(self, side: str, applicant_id: str) -> str:
        if side == "staff":
            return self.config.staff_mail
        account = await self.refs.row("accounts", applicant_id)
        return str(account["email"]) if account else ""

    async def run(self) -> None:
        config = self.config
        log.info(
            "chat_mail.started",
            delay=config.delay,
            interval=config.interval,
            staff_mail=bool(config.staff_mail),
        )
        while True:
            self._wake.clear()
            wait = self.idle
            try:
                await self.run_due()
                wait = await self.next_due_in()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("chat_mail.failed")
                wait = RETRY_FAILED
            # Asleep until the next thread is due, or a message or receipt changes that.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)


def _quoted(row: Row) -> dict[str, object]:
    at = fmt.when(float(str(row["at"])))
    author = str(row["author_name"]) or ("Сотрудник" if row["author_role"] == "staff" else "Заявитель")
    if row["author_role"] == "staff":
        author += " (сетевая организация)"
    return {"author": author, "at": at, "text": row["text"], "files": row["files"]}
