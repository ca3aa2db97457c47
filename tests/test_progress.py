"""A send's progress where there is no terminal (a CI log): plain lines, then a summary."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

from fixtures_send import add_subscribers

from sphere.cli.progress import Progress, duration
from sphere.send.campaign import Report
from sphere.settings import load_settings

SLUG = "hard-sell-or-soft-sell"
LINE = re.compile(
    rf"{SLUG}: sent ([\d,]+)/([\d,]+) \(([\d.]+)%\), (\d+) failed, (\d+) unknown, "
    r"[\d.]+/s, ETA (\S+)"
)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _report(sent: int, *, total: int = 1000, elapsed: float = 1.0, **more: int) -> Report:
    return Report(SLUG, recipients=total, sent=sent, left=total - sent, elapsed=elapsed, **more)


def test_a_log_gets_a_line_at_each_5_percent_and_every_few_seconds() -> None:
    out, clock = io.StringIO(), Clock()
    progress = Progress(stream=out, terminal=False, every=10, clock=clock)
    for sent in range(10, 101, 10):  # 1% a batch, one second each: no step reached until 5%
        clock.now += 1
        progress.update(_report(sent, elapsed=clock.now))
    clock.now += 30  # a slow batch: a line although no new step was reached
    progress.update(_report(101, elapsed=clock.now))
    lines = out.getvalue().splitlines()
    assert [LINE.match(line).group(1) for line in lines] == ["50", "100", "101"]  # type: ignore[union-attr]
    assert lines[0] == f"{SLUG}: sent 50/1,000 (5.0%), 0 failed, 0 unknown, 10.0/s, ETA 1m35s"
    assert "\r" not in out.getvalue()


def test_the_summary_line_ends_each_issue_on_a_terminal_or_not() -> None:
    for terminal in (True, False):
        out = io.StringIO()
        progress = Progress(stream=out, terminal=terminal, clock=Clock())
        progress.update(_report(600, failed=2, unknown=1, elapsed=60))
        progress.update(Report("next-issue", recipients=5, sent=5, elapsed=2))  # publish: next
        progress.finish()
        text = out.getvalue()
        first = f"{SLUG}: done: sent 600, failed 2, unknown 1, skipped 0 in 1m00s (10.1/s)\n"
        last = "next-issue: done: sent 5, failed 0, unknown 0, skipped 0 in 2s (2.5/s)\n"
        assert first in text and text.index(first) < text.index("next-issue")
        assert text.endswith(last)
        assert ("\r" in text) is terminal


def test_a_stopped_send_says_so_and_what_is_left() -> None:
    out = io.StringIO()
    progress = Progress(stream=out, terminal=False, clock=Clock())
    progress.update(_stopped())
    progress.finish()
    assert out.getvalue().splitlines()[-1] == (
        f"{SLUG}: stopped (the time limit (--max-time) was reached), 700 left: sent 300, "
        "failed 0, unknown 0, skipped 0 in 30s (10.0/s)"
    )


def _stopped() -> Report:
    report = _report(300, elapsed=30, total=1000)
    report.stopped = "the time limit (--max-time) was reached"
    return report


def test_durations_read_as_people_say_them() -> None:
    assert [duration(s) for s in (4.4, 61, 3 * 3600 + 125)] == ["4s", "1m01s", "3h02m"]


def test_a_send_into_a_log_file_shows_progress_lines(project: Path) -> None:
    """The CLI as CI runs it, standard error into a file: lines, not one rewritten line."""
    add_subscribers(load_settings(), [(f"r{n:03d}@example.org", "") for n in range(200)])
    log = project / "send.log"
    with log.open("w") as err:
        done = subprocess.run(
            [sys.executable, "-m", "sphere", "send", SLUG, "--now", "--rate", "50"],
            stdout=subprocess.PIPE, stderr=err, text=True, timeout=120, check=False,
        )  # fmt: skip
    assert done.returncode == 0, log.read_text()
    text = log.read_text()
    lines = text.splitlines()
    progress = [LINE.match(line) for line in lines]
    counts = [int(m.group(1).replace(",", "")) for m in progress if m]
    assert len(counts) >= 2 and counts == sorted(counts) and counts[-1] < 200, text
    assert all(m.group(2) == "200" for m in progress if m)
    assert re.fullmatch(
        rf"{SLUG}: done: sent 200, failed 0, unknown 0, skipped 0 in \d+s \([\d.]+/s\)", lines[-1]
    ), text
    assert "\r" not in text and "@" not in text
    assert done.stdout.startswith(f"{SLUG}: sent 200, skipped 0")
