"""How long a poller that found nothing waits before it looks again: the poll interval after
work, doubling while idle up to a ceiling (``LK_IDLE_POLL_MAX``). A commit or a publish in the
same process wakes the poller at once (an ``asyncio.Event``), so the wait is only the fallback
for what another process wrote; an idle system then asks its stores a few times a second in
all instead of fifty times per poller (decision record 25)."""

from __future__ import annotations


class IdleBackoff:
    """``wait()`` after an empty poll, ``reset()`` after a poll that found work."""

    def __init__(self, start: float, ceiling: float) -> None:
        self.start = start
        self.ceiling = max(start, ceiling)
        self.current = start

    def reset(self) -> None:
        self.current = self.start

    def wait(self) -> float:
        """The wait for this empty poll; the next one waits twice as long (to the ceiling)."""
        now = self.current
        self.current = min(self.current * 2, self.ceiling)
        return now
