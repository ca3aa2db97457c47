"""A send's progress on standard error: one rewritten line on a terminal, log lines elsewhere.

A multi-hour send in GitHub Actions has no terminal, and a rewritten line (carriage returns)
shows there as nothing until the end. So where standard error is not a terminal, a plain line
is written every `every` seconds, and at each further 5% of the list, whichever comes first:
sent/total, rate, failures, unknowns, ETA. Either way a summary line ends each issue's send.
`sphere send` and `sphere publish` (one issue after another) both use it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from sphere.send.campaign import Report

EVERY = 5.0  # seconds between two log lines, at most (a line is also due at each STEP)
STEP = 0.05  # of the recipients this run sends to


class Progress:
    """Hears each batch's report (`update`, a Campaign's `on_batch`) and says where it is."""

    def __init__(
        self,
        *,
        stream: TextIO | None = None,
        terminal: bool | None = None,
        every: float = EVERY,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.stream = stream or sys.stderr
        self.terminal = self.stream.isatty() if terminal is None else terminal
        self.every = every
        self.clock = clock
        self._last: Report | None = None
        self._line_at = 0.0  # when the last log line was written
        self._step = 0  # the last STEP reached
        self._open = False  # a terminal line waits for its newline

    def update(self, report: Report) -> None:
        """After a batch: rewrite the terminal line, or write a log line when one is due."""
        if self._last is not None and self._last.slug != report.slug:
            self.finish()  # publish went on to the next issue
        if self._last is None:
            self._line_at = self.clock()
        self._last = report
        if self.terminal:
            self.stream.write(f"\r{progress_line(report)} ")
            self._open = True
        else:
            step = int(_fraction(report) / STEP)
            now = self.clock()
            # NOTE: the batch that ends the list gets no line: the summary follows at once.
            due = step > self._step or now - self._line_at >= self.every
            if due and report.left and not report.stopped:
                self._step, self._line_at = step, now
                self.stream.write(progress_line(report) + "\n")
        self.stream.flush()

    def finish(self) -> None:
        """End the issue's progress with its summary line (nothing if no batch was sent)."""
        report, self._last, self._step = self._last, None, 0
        if report is None:
            return
        if self._open:
            self.stream.write("\n")
            self._open = False
        self.stream.write(summary_line(report) + "\n")
        self.stream.flush()


def _totals(report: Report) -> tuple[int, int]:
    """(done, total) of this run: the recipients it has dealt with, and those it set out to."""
    done = report.sent + report.failed + report.unknown + report.skipped
    return done, done + report.left


def _fraction(report: Report) -> float:
    done, total = _totals(report)
    return done / total if total else 1.0


def progress_line(report: Report) -> str:
    """`slug: sent 1,200/100,000 (1.2%), 3 failed, 0 unknown, 13.9/s, ETA 1h58m`."""
    done, total = _totals(report)
    rate = done / report.elapsed if report.elapsed > 0 else 0.0
    eta = duration(report.left / rate) if rate > 0 else "unknown"
    return (
        f"{report.slug}: sent {report.sent:,}/{total:,} ({_fraction(report):.1%}), "
        f"{report.failed:,} failed, {report.unknown:,} unknown, {rate:.1f}/s, ETA {eta}"
    )


def summary_line(report: Report) -> str:
    """The line that ends a send: what it did, how fast, and whether it finished."""
    done, _ = _totals(report)
    rate = done / report.elapsed if report.elapsed > 0 else 0.0
    end = f"stopped ({report.stopped}), {report.left:,} left" if report.stopped else "done"
    return (
        f"{report.slug}: {end}: sent {report.sent:,}, failed {report.failed:,}, "
        f"unknown {report.unknown:,}, skipped {report.skipped:,} in "
        f"{duration(report.elapsed)} ({rate:.1f}/s)"
    )


def duration(seconds: float) -> str:
    """`45s`, `12m05s`, `3h02m`: short, for a log line."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


__all__ = ["Progress", "duration", "progress_line", "summary_line"]
