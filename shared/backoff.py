"""How long a poller that found nothing waits before it looks again: the poll interval after
work, doubling while idle up to a ceiling (``LK_IDLE_POLL_MAX``). A commit or a publish in the
same process wakes the poller at once (an ``asyncio.Event``), so the wait is only the fallback
for what another process wrote; an idle system then asks its stores a few times a second in
all instead of fifty times per poller (decision record 25). A poller that another process wakes
too (PostgreSQL ``LISTEN/NOTIFY``, shared/listen.py) waits up to a higher ceiling, the slow
fallback poll ``LK_FALLBACK_POLL`` (decision record 29)."""

from __future__ import annotations


class IdleBackoff:
    """``wait()`` after an empty poll, ``reset()`` after a poll that found work."""

    def __init__(self, start: float, ceiling: float) -> None:
        self.start = start
        self.ceiling = max(start, ceiling)
        self.current = start

    def reset(self) -> None:
        self.current = self.start

    def wait(self, ceiling: float | None = None) -> float:
        """The wait for this empty poll; the next one waits twice as long, up to ``ceiling``
        (the one given at construction by default)."""
        top = max(self.start, self.ceiling if ceiling is None else ceiling)
        now = min(self.current, top)
        self.current = min(now * 2, top)
        return now
