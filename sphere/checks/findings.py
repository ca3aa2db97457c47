"""What `sphere check` reports: rules with ids and levels, findings, and their output formats."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from sphere.errors import LocatedError, display_path, printable


class Level(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Rule:
    """One thing `sphere check` looks for (each is documented in docs/checks.md)."""

    id: str
    level: Level
    summary: str


_E, _W = Level.ERROR, Level.WARNING
RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in (
        Rule("content/invalid", _E, "the issue cannot be loaded or rendered"),
        Rule("content/first-name", _E, "reader.first_name filtered, tested or sliced"),
        Rule("content/unknown-key", _W, "a front-matter key sphere does not know (a typo?)"),
        Rule("content/duplicate-slug", _E, "two issues have the same slug"),
        Rule("content/stale-date", _E, "a ready issue, not sent, dated over 30 days ago"),
        Rule("summary/missing", _E, "the issue has no summary (the preheader)"),
        Rule("summary/too-long", _W, "the summary is longer than inboxes show"),
        Rule("subject/too-long", _W, "the subject is over 70 characters"),
        Rule("subject/capitals", _W, "the subject is mostly in capitals"),
        Rule("subject/exclamations", _W, "the subject has several exclamation marks"),
        Rule("email/clipped", _E, "the email HTML is over 102 KB: Gmail clips it"),
        Rule("email/size", _W, "the email HTML is over 90 KB, close to Gmail's limit"),
        Rule("image/no-alt", _E, "an image has no alt text"),
        Rule("image/alt-without-image", _W, "'image_alt' is set but there is no cover 'image'"),
        Rule("image/missing", _E, "an image file does not exist (or is outside content/)"),
        Rule("image/format", _E, "an image file is not a PNG or JPEG"),
        Rule("image/too-wide", _W, "an image is shown wider than the email's 552 px"),
        Rule("image/heavy", _W, "an image file is over the size limit (200 KB)"),
        Rule("link/malformed", _E, "a link that no mail client can follow"),
        Rule("link/insecure", _W, "a link uses http:// rather than https://"),
        Rule("link/placeholder", _E, "a link to localhost or an example domain"),
        Rule("link/text", _W, "a link's text says nothing: empty, 'click here', 'read more'"),
        Rule("link/unknown-issue", _E, "a link to an archive page no issue has"),
        Rule("link/broken", _E, "an external link answers 404 or similar (--links)"),
        Rule("link/unverified", _W, "an external link could not be verified (--links)"),
        Rule("html/unsafe", _E, "raw HTML that mail clients drop or that can run code"),
        Rule("heading/skip", _W, "a heading skips a level (the title is the h1)"),
        Rule("template/invalid", _E, "a template cannot be rendered"),
        Rule("template/undefined", _E, "a template uses a variable that is not defined"),
        Rule("template/mjml-tag", _E, "an MJML tag that mjml-python does not render"),
        Rule("template/footer", _E, "the footer lacks the postal address or unsubscribe link"),
        Rule("settings/postal-placeholder", _W, "the postal address is still a placeholder"),
    )
}


@dataclass(frozen=True, order=True)
class Finding:
    """One problem at a place: `file:line: level: rule message`."""

    path: Path
    line: int
    rule: str
    message: str

    @property
    def level(self) -> Level:
        return RULES[self.rule].level

    @property
    def file(self) -> str:
        return display_path(self.path)

    def __str__(self) -> str:
        """One line, whatever the file's name or the message hold (see `printable`)."""
        return f"{self.file}:{self.line}: {self.level}: {self.rule} {printable(self.message)}"


def finding(rule: str, path: Path, line: int | None, message: str) -> Finding:
    """A finding of a known rule (a typo in a rule id fails loudly, in tests)."""
    if rule not in RULES:
        raise KeyError(rule)
    return Finding(path, line or 1, rule, message)


def from_error(rule: str, error: LocatedError, fallback: Path) -> Finding:
    """A library error (a broken issue or template) as a finding at its place."""
    return finding(rule, error.path or fallback, error.line, error.message)


def format_text(findings: Sequence[Finding]) -> str:
    """Compiler-style lines, one per finding."""
    return "".join(f"{f}\n" for f in findings)


def format_github(findings: Sequence[Finding]) -> str:
    """GitHub Actions workflow commands, which annotate the pull request's diff."""
    lines = []
    for f in findings:
        props = f"file={_prop(f.file)},line={f.line},title={_prop(f.rule)}"
        lines.append(f"::{f.level} {props}::{_data(f.message)}\n")
    return "".join(lines)


def format_json(findings: Sequence[Finding]) -> str:
    """A JSON array of {file, line, level, rule, message} objects."""
    rows = [
        {
            "file": f.file,
            "line": f.line,
            "level": str(f.level),
            "rule": f.rule,
            "message": f.message,
        }
        for f in findings
    ]
    return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"


FORMATS = {"text": format_text, "github": format_github, "json": format_json}


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def counts(findings: Iterable[Finding]) -> tuple[int, int]:
    """(errors, warnings)."""
    levels = [f.level for f in findings]
    return levels.count(Level.ERROR), levels.count(Level.WARNING)
