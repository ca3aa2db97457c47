"""Pace: a token bucket that spaces sends evenly, and backoff with jitter for retries.

The bucket hands out one slot every 1/rate seconds, and lets a short pause (the ledger write
between batches) be made up for afterwards. Threads wake late by varying amounts, which could
bunch sends that were spaced right, so it also keeps the times of the last `rate` sends it let
go, and holds a send back until the oldest of them is a (slightly padded) second old: no
one-second window ever holds more than `rate` sends. Throttling halves the rate at once and it
climbs back slowly, a little with every accepted message, never above what was asked for.
"""

from __future__ import annotations

import math
import random
import threading
from collections import deque

from sphere.clock import SYSTEM, Clock

CREDIT = 0.5  # seconds of sending a pause (between batches) may make up for afterwards
WINDOW = 1.02  # seconds: one second, padded for the moment between a slot and its send
MIN_RATE = 0.5  # messages per second: throttling never slows us below this
RECOVERY = 0.02  # each accepted message gives back this share of the target rate


class TokenBucket:
    """Hands out send slots at `rate` per second to any number of threads."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Clock = SYSTEM,
    ):
        self.target = rate  # 0 or less: no limit
        self.rate = rate
        self._clock = clock.monotonic
        self._sleep = clock.sleep
        self._next = clock.monotonic()
        self._lock = threading.Lock()
        self._recent: deque[float] = deque(maxlen=max(1, math.floor(rate)) if rate > 0 else 1)

    def acquire(self) -> None:
        """Wait for this caller's slot."""
        if self.target <= 0:
            return
        with self._lock:
            now = self._clock()
            slot = max(now - CREDIT, self._next)  # the window below still caps any catch-up
            self._next = slot + 1.0 / self.rate
        if slot > now:
            self._sleep(slot - now)
        while True:
            with self._lock:
                now = self._clock()
                full = len(self._recent) == self._recent.maxlen
                wait = self._recent[0] + WINDOW - now if full else 0.0
                if wait <= 0:
                    self._recent.append(now)
                    return
            self._sleep(wait)

    def slow_down(self) -> None:
        """Throttled: halve the rate."""
        if self.target > 0:
            with self._lock:
                self.rate = max(min(MIN_RATE, self.target), self.rate / 2)

    def recover(self) -> None:
        """Accepted: win back a little of the rate."""
        if self.target > 0 and self.rate < self.target:
            with self._lock:
                self.rate = min(self.target, self.rate + self.target * RECOVERY)


def backoff(attempt: int, *, base: float = 0.5, cap: float = 30.0, rng: random.Random) -> float:
    """Seconds to wait before retry number `attempt` (from 0): "full jitter", so workers that
    were throttled together do not all come back at the same moment."""
    return rng.uniform(0, min(cap, base * 2**attempt))


__all__ = ["TokenBucket", "backoff"]
