"""The one clock: what time it is, how long something took, and waiting. Passed in, so that
tests can set the time.

Code that needs the time takes a `Clock` (default `SYSTEM`) instead of calling `time.time()`,
`time.monotonic()`, `datetime.now()` or `time.sleep()` itself: the settings, the send's pace,
campaign loop, lease and ledger, the bounce guard and the signed tokens. A test gives it a
`Clock` of its own (a fixed date, a clock that is 30 s behind, a sleep that returns at once).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Wall-clock time in seconds since the epoch, a clock for intervals, and a way to wait."""

    def now(self) -> float:
        """Seconds since the epoch (UTC), as `time.time()`."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary start, never going back, as `time.monotonic()`: for
        intervals (a rate, a time limit), which a change of the wall clock must not bend."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait `seconds`."""
        ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> float:
        """`time.time()`."""
        return time.time()

    def monotonic(self) -> float:
        """`time.monotonic()`."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """`time.sleep()`."""
        time.sleep(seconds)


SYSTEM: Clock = SystemClock()


class SetClock(SystemClock):
    """The machine's clock set to another time: its wall time starts at `start` (seconds since
    the epoch) and runs on from there. SPHERE_NOW makes one, so that a whole command (a
    publish, a status) runs at a chosen moment with a clock that still moves: leases,
    ledgers and the send's pace behave as they would at that time."""

    def __init__(self, start: float) -> None:
        self._offset = start - time.monotonic()

    def now(self) -> float:
        """`start` plus the time since this clock was made."""
        return self._offset + time.monotonic()


def utc(clock: Clock) -> datetime:
    """The clock's time as an aware UTC datetime."""
    return datetime.fromtimestamp(clock.now(), UTC)
