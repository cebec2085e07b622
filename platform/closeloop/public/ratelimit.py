"""A small in-process rate limiter: at most `limit` hits per key in a sliding window.

It counts per app process: behind a load balancer with N processes a client gets up to
N times the limit, which still bounds abuse of the public form; a shared limiter
(Redis, the database) can replace it behind the same `hit()`.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable, Hashable, MutableMapping
from typing import Any

__all__ = ["RateLimiter", "app_limiter"]


class RateLimiter:
    def __init__(
        self, limit: int, window_seconds: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window_seconds
        self.clock = clock
        self._hits: dict[Hashable, collections.deque[float]] = {}
        self._calls = 0

    def hit(self, key: Hashable) -> float | None:
        """Count a hit; None if allowed, else the seconds until the next one would be."""
        now = self.clock()
        self._calls += 1
        if self._calls % 1024 == 0:
            self._forget_idle(now)
        hits = self._hits.setdefault(key, collections.deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return max(hits[0] + self.window - now, 0.0)
        hits.append(now)
        return None

    def _forget_idle(self, now: float) -> None:
        idle = [
            key for key, hits in self._hits.items() if not hits or hits[-1] <= now - self.window
        ]
        for key in idle:
            del self._hits[key]


def app_limiter(state: MutableMapping[str, Any], name: str, limit: int) -> RateLimiter:
    """The app's limiter called `name` (kept in the app's `state`), made on first use
    with `limit` hits a minute."""
    limiter: RateLimiter | None = state.get(name)
    if limiter is None:
        limiter = state[name] = RateLimiter(limit, 60.0)
    return limiter
