"""The chat's flood limit: at most so many messages per account and thread in a sliding window.

Counted on the thread itself, not in a process's memory: the :class:`~services.chat.domain.Thread`
aggregate keeps the times of each author's last messages (``MessagePosted.at``), and a post is
decided on the thread as stored (a command that lost a race to another replica reloads it and
decides again, services/chat/app.py), so every replica of the chat service counts the same
messages. Times are wall-clock seconds: the replicas share the clock of their machines (NTP)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence


class FloodLimit:
    """At most ``limit`` messages per ``window`` seconds, judged from the times of the last ones."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.time) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock

    def retry_after(self, times: Sequence[float]) -> float:
        """0 when one more message is allowed now, else the seconds to wait. ``times``: the
        author's latest message times, oldest first (at least ``limit`` of them, if there are)."""
        if self.limit <= 0 or len(times) < self.limit:
            return 0.0
        elapsed = self.clock() - times[-self.limit]
        return 0.0 if elapsed >= self.window else self.window - elapsed
