"""Broken issue files that `sphere publish` passes over, so that one bad draft stops nothing else.

On a pull request `sphere check` is strict: every error fails it. Publishing runs unattended,
after the merge, and a draft dated `1/2/2027` must not hold back an issue due today. So an
issue file with errors is left out of the build and the sends, and:

- if it is not due (a draft, or dated after today), its errors are warnings;
- if it is due, or may be (its date or status cannot be read), the rest is published and then
  the run fails (exit 1) naming it: someone is waiting for it;
- if it has gone out already (its campaign started), nothing is published: building the
  archive without it would take its page down.

An error outside the issue files (a template, the theme) concerns every issue and still stops
the publish before anything is done.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sphere.checks.findings import Finding, Level
from sphere.content.issues import parse_front_matter, slug_from_name, split_front_matter
from sphere.errors import ContentError, display_path

if TYPE_CHECKING:
    from sphere.checks import CheckReport


@dataclass
class PassedOver:
    """The broken issue files a publish leaves out, and which of them were due."""

    files: frozenset[Path] = frozenset()
    warnings: list[Finding] = field(default_factory=list)  # errors of files not due
    errors: list[Finding] = field(default_factory=list)  # errors of files due (or unknowable)
    welcome: list[Finding] = field(default_factory=list)  # errors of content/welcome.md
    due: list[Path] = field(default_factory=list)

    def warning_lines(self) -> list[str]:
        """The errors of files not due, printed as warnings, and what happens to the files."""
        lines = [f"{f.file}:{f.line}: warning: {f.rule} {f.message}" for f in self.warnings]
        for path in sorted({f.path for f in self.warnings}):
            lines.append(
                f"warning: {display_path(path)} is not due and has errors: left out of this "
                "publish; fix it before its date"
            )
        for path in sorted({f.path for f in self.welcome}):
            lines += [f"{f.file}:{f.line}: warning: {f.rule} {f.message}" for f in self.welcome]
            lines.append(
                f"warning: {display_path(path)} has errors: no welcome email goes out until it "
                "is fixed (they stay queued)"
            )
        return lines

    def failure(self) -> ContentError | None:
        """The error to end the run with, after the rest was published: a due file is broken."""
        if not self.due:
            return None
        names = ", ".join(display_path(path) for path in self.due)
        return ContentError(
            f"not sent: {names} is due and has errors (above); everything else was published; "
            "fix it and publish again"
        )


def pass_over(
    checked: CheckReport, *, issues_dir: Path, today: dt.date, started: Collection[str]
) -> PassedOver:
    """Sort a publish's check findings: broken issue files to leave out, or ContentError when
    something must stop the whole publish (an error outside the issues, a sent issue broken)."""
    errors = [f for f in checked.findings if f.level == Level.ERROR]
    # A broken welcome holds back the welcome emails (queued meanwhile), never an issue.
    welcome = [
        f for f in errors if f.path.resolve() == (issues_dir.parent / "welcome.md").resolve()
    ]
    errors = [f for f in errors if f not in welcome]
    stopping = [f for f in errors if not _is_issue_file(f.path, issues_dir)]
    broken = sorted({f.path for f in errors} - {f.path for f in stopping})
    gone_out = [path for path in broken if _slug(path) in started]
    if stopping or gone_out:
        _stop(checked, gone_out)
    result = PassedOver(files=frozenset(path.resolve() for path in broken), welcome=welcome)
    for path in broken:
        found = [f for f in errors if f.path == path]
        if _may_be_due(path, today):
            result.due.append(path)
            result.errors += found
        else:
            result.warnings += found
    return result


def _stop(checked: CheckReport, gone_out: Sequence[Path]) -> None:
    """Raise the publish-stopping error (the caller prints the findings with it)."""
    if gone_out:
        names = ", ".join(display_path(path) for path in gone_out)
        raise ContentError(
            f"not publishing: {names} went out already and has errors: the archive would lose "
            "its page; fix the errors above"
        )
    raise ContentError(f"not publishing: {checked.summary()}; fix the errors above")


def _is_issue_file(path: Path, issues_dir: Path) -> bool:
    return path.suffix == ".md" and path.resolve().parent == issues_dir.resolve()


def _front(path: Path) -> dict[str, object] | None:
    """The file's front matter as YAML reads it, unvalidated; None when it cannot be read."""
    try:
        front, _, _ = split_front_matter(path.read_text(encoding="utf-8"), path)
        data, _ = parse_front_matter(front, path)
    except (OSError, UnicodeDecodeError, ContentError):
        return None
    return data


def _slug(path: Path) -> str:
    data = _front(path) or {}
    slug = data.get("slug")
    return slug if isinstance(slug, str) and slug else slug_from_name(path)


def _may_be_due(path: Path, today: dt.date) -> bool:
    """Whether a broken file could be an issue due today: unless it is plainly a draft or
    plainly dated after today, it counts as due (a guess the other way would lose an issue
    silently)."""
    data = _front(path)
    if data is None:
        return True
    if data.get("status", "draft") == "draft":  # as an issue without a status is
        return False
    try:
        date = dt.date.fromisoformat(str(data.get("date")))
    except ValueError:
        return True
    return date <= today
