"""A token bucket per client address, so one client cannot flood the event counters."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

MAX_CLIENTS = 100_000  # buckets kept before the idle ones are dropped


class RateLimiter:
    """Allow each client `per_minute` requests a minute, in bursts of up to that many.

    In memory and per worker: behind N workers a client gets up to N times the rate,
    which is enough to stop a flood without any shared state on the request path.
    """

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens per second
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, when)
        self._lock = threading.Lock()

    def allow(self, client: str) -> bool:
        """Take one token from `client`'s bucket; False when it is empty."""
        now = self.clock()
        with self._lock:
            tokens, when = self._buckets.get(client, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - when) * self.rate)
            allowed = tokens >= 1
            self._buckets[client] = (tokens - 1 if allowed else tokens, now)
            if len(self._buckets) > MAX_CLIENTS:
                self._forget_idle(now)
            return allowed

    def _forget_idle(self, now: float) -> None:
        # A bucket that has refilled holds nothing worth keeping: dropping it is the same
        # as keeping it full. If that frees nothing (many addresses at once), start over.
        refill = self.capacity / self.rate
        self._buckets = {
            client: bucket for client, bucket in self._buckets.items() if now - bucket[1] < refill
        }
        if len(self._buckets) > MAX_CLIENTS:
            self._buckets.clear()
