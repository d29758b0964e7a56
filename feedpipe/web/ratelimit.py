"""The sign-up rate limit: a token bucket per client IP, in process."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimiter:
    """A token bucket per key (client IP): `capacity` requests at once, refilled at `capacity`
    per `per_seconds`. In-process only: several web processes each keep their own buckets.
    `clock` is monotonic seconds (tests pass their own)."""

    def __init__(self, capacity: int = 5, per_seconds: float = 600.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = capacity
        self.rate = capacity / per_seconds
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> tuple[bool, float]:
        """(allowed, seconds until the next token when not allowed)."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.capacity), now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if len(self._buckets) > 10_000:  # forget full buckets so memory stays bounded
                self._buckets = {k: v for k, v in self._buckets.items() if v[0] < self.capacity}
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return True, 0.0
            self._buckets[key] = (tokens, now)
            return False, (1 - tokens) / self.rate
