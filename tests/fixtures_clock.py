"""A clock a test moves by hand: `sleep` returns at once and moves it on."""

from __future__ import annotations


class ManualClock:
    """A `sphere.clock.Clock` whose wall and monotonic times move together, by hand or by
    `sleep`, which returns at once."""

    def __init__(self, now: float = 1_700_000_000.0):
        self.time = now
        self.slept: list[float] = []

    def now(self) -> float:
        return self.time

    def monotonic(self) -> float:
        return self.time

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.time += max(seconds, 0.0)
