"""The chat's flood limit: at most so many messages per account and thread in a sliding window.

In memory, like the per-thread command locks: the chat service runs as one process
(services/chat/README.md)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    """At most ``limit`` hits per ``window`` seconds per key (a sliding window, in memory)."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._hits: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: tuple[str, str]) -> float:
        """0 when a hit is allowed now, else the seconds to wait."""
        now = self.clock()
        with self._lock:
            hits = self._hits.get(key)
            if not hits:
                return 0.0
            while hits and now - hits[0] >= self.window:
                hits.popleft()
            if len(hits) < self.limit:
                return 0.0
            return self.window - (now - hits[0])

    def record(self, key: tuple[str, str]) -> None:
        now = self.clock()
        with self._lock:
            self._hits.setdefault(key, deque()).append(now)
            if len(self._hits) > 10_000:  # forget idle keys
                for stale in [k for k, v in self._hits.items() if not v or now - v[-1] >= self.window]:
                    del self._hits[stale]
