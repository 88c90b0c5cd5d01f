"""services/chat/app.GroupCommit: commands on different threads that save at the same moment
share one transaction, and each still gets its own answer."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from eventsourcing.persistence import IntegrityError

from services.chat.app import ATTEMPTS, ChatApp
from shared.errors import Conflict
from tests.unit.test_chat_app import ANNA, STAFF, chat

__all__ = ["chat"]  # the fixture, shared with test_chat_app
WAITERS = 5


def _until(done: Callable[[], bool]) -> None:
    """Synchronisation, not a timing assertion: wait (bounded) for the other threads to queue."""
    deadline = time.monotonic() + 10
    while not done():
        assert time.monotonic() < deadline, "the posts never queued behind the held save"
        time.sleep(0.005)


def _held_store(
    app: ChatApp, fail: Callable[[tuple[Any, ...]], bool] = lambda _: False
) -> tuple[threading.Event, list[list[uuid.UUID]]]:
    """Make the first save wait for ``release``; record which threads each save held; a save
    for which ``fail`` is true raises IntegrityError (as a concurrent write would)."""
    release, calls = threading.Event(), []
    real = app.group_commit._save

    def save(*aggregates: Any) -> object:
        calls.append([a.id for a in aggregates])
        if len(calls) == 1:
            release.wait(10)
        if fail(aggregates):
            for aggregate in aggregates:
                aggregate.collect_events()  # as the store does before it writes (and fails)
            raise IntegrityError("version taken")
        return real(*aggregates)

    app.group_commit._save = save
    return release, calls


def _post_in_threads(
    app: ChatApp, threads: list[uuid.UUID], release: threading.Event
) -> dict[uuid.UUID, Any]:
    """Post once on each thread, each from a worker thread of its own, the first one holding
    the store until the others queue behind it; what each got back."""
    answers: dict[uuid.UUID, object] = {}

    def post(thread: uuid.UUID) -> None:
        try:
            answers[thread] = app.post(thread, ANNA.account_id, STAFF, f"в {thread}", [])
        except Exception as exc:
            answers[thread] = exc

    workers = [threading.Thread(target=post, args=(t,)) for t in threads]
    workers[0].start()
    _until(lambda: app.group_commit._busy)  # the first one is in the (held) store
    for worker in workers[1:]:
        worker.start()
    _until(lambda: len(app.group_commit._queue) == len(threads) - 1)
    release.set()
    for worker in workers:
        worker.join(10)
    return answers


def test_posts_that_wait_for_the_store_share_one_transaction(chat: ChatApp) -> None:
    threads = [uuid.uuid4() for _ in range(WAITERS + 1)]
    release, calls = _held_store(chat)
    pushed: list[str] = []
    chat.on_posted = lambda thread_id, message: pushed.append(thread_id)
    answers = _post_in_threads(chat, threads, release)
    assert calls == [[threads[0]], threads[1:]]  # the waiting five went in one save
    assert chat.group_commit.groups == 2 and chat.group_commit.largest == WAITERS
    for thread in threads:
        message, created = answers[thread]
        assert created and message["seq"] == 1
        assert [m["text"] for m in chat.history(thread)[0]] == [f"в {thread}"]  # stored, not only cached
    assert sorted(pushed) == sorted(map(str, threads))  # each pushed live once, after its save
    # Alone again: a post goes straight to the store.
    chat.post(threads[0], ANNA.account_id, ANNA, "ещё", [])
    assert calls[-1] == [threads[0]] and chat.group_commit.groups == 3


def test_a_failing_group_is_saved_again_one_by_one(chat: ChatApp) -> None:
    threads = [uuid.uuid4() for _ in range(WAITERS + 1)]
    bad = threads[3]
    release, calls = _held_store(chat, fail=lambda aggregates: any(a.id == bad for a in aggregates))
    answers = _post_in_threads(chat, threads, release)
    assert calls[1] == threads[1:]  # the group, refused because of one of its aggregates
    alone = len(threads) - 1
    assert sorted(map(str, calls[2 : 2 + alone])) == sorted(str([t]) for t in threads[1:])  # then each alone
    # Refused again: the command reloads its thread and tries anew, a bounded number of times,
    # and only its own command hears of it.
    assert calls[2 + alone :] == [[bad]] * (ATTEMPTS - 1)
    assert isinstance(answers[bad], Conflict) and chat.conflicts == ATTEMPTS
    assert chat.history(bad)[0] == [] and chat.thread(bad) is None
    for thread in threads:
        if thread != bad:
            message, created = answers[thread]
            assert created and message["seq"] == 1
            assert [m["seq"] for m in chat.history(thread)[0]] == [1]  # its event was saved on the retry
    # The refused thread is not stuck: the next post there goes through.
    chat.group_commit._save = chat.commit
    message, created = chat.post(bad, ANNA.account_id, ANNA, "снова", [])
    assert created and message["seq"] == 1
