"""Issues on disk: one Markdown file with YAML front matter per issue, under content/issues/.

Loading validates everything a later stage relies on, so a broken file is reported as
`file:line: error: message` before anything is rendered or written.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import os
import re
import stat
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from sphere.errors import ContentError, display_path
from sphere.setting_values import send_time

Status = Literal["draft", "ready"]
State = Literal["published", "scheduled", "draft"]  # where an issue stands on a given day
STATUSES: tuple[Status, ...] = ("draft", "ready")
KNOWN_KEYS = (
    "title",
    "date",
    "send_time",
    "summary",
    "subject",
    "status",
    "image",
    "image_alt",
    "slug",
)
REQUIRED_KEYS = ("title", "date", "summary")
MAX_ISSUE_BYTES = 1024 * 1024

DATE_PREFIX = re.compile(r"\d{4}-\d{2}(-\d{2})?-")  # 2026-12-01-slug.md or 2026-12-slug.md
_SLUG = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")  # fullmatch: "$" would let a final "\n" through
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


# libyaml's safe loader when PyYAML was built with it: ten times faster than the pure one.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeLoader):  # type: ignore[misc,valid-type]
    """YAML's safe loader, leaving dates as text so that `_date` can say what is wrong."""


_NUMBERS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")


def _no_base_60(tag: str, regexp: re.Pattern[str]) -> tuple[str, re.Pattern[str]]:
    """YAML 1.1 reads `10:00` as the number 600 (base 60): a send time or a title that looks
    like a time stays text. A number never holds a colon otherwise."""
    if tag in _NUMBERS:
        return tag, re.compile(r"(?!.*:)" + regexp.pattern, regexp.flags)
    return tag, regexp


_Loader.yaml_implicit_resolvers = {
    first: [
        _no_base_60(tag, regexp)
        for tag, regexp in resolvers
        if tag != "tag:yaml.org,2002:timestamp"
    ]
    for first, resolvers in _SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True, kw_only=True)
class Issue:
    """One newsletter issue as the author wrote it."""

    path: Path
    slug: str
    title: str
    date: dt.date
    send_time: dt.time | None = None  # overrides the newsletter's send time (sphere.schedule)
    summary: str
    subject: str
    status: Status
    image: str | None
    image_alt: str = ""  # what the cover `image` shows, for link previews (og:image:alt)
    body: str  # the Markdown below the front matter
    body_line: int  # the file's line number of the body's first line
    key_lines: dict[str, int] = field(default_factory=dict)  # front-matter key -> its line
    extra_keys: tuple[str, ...] = ()  # keys sphere does not know (reported by `sphere check`)
    digest: bytes = b""  # SHA-256 of the file as read (b"" for an issue not read from a file)

    @property
    def is_draft(self) -> bool:
        return self.status == "draft"

    @property
    def text_line(self) -> int:
        """The line of the body's first non-blank line."""
        blank = len(self.body) - len(self.body.lstrip("\n"))
        return self.body_line + blank

    def is_due(self, today: dt.date) -> bool:
        """Ready, and its date has come: it belongs in the deployed archive and may be sent."""
        return self.status == "ready" and self.date <= today

    def state(self, today: dt.date) -> State:
        if self.is_draft:
            return "draft"
        return "published" if self.is_due(today) else "scheduled"

    def line_of(self, key: str) -> int:
        """The line of a front-matter key, or the file's first line when the key is absent."""
        return self.key_lines.get(key, 1)


def slug_from_name(path: Path) -> str:
    """The slug a file name gives: its stem without the date prefix."""
    prefix = DATE_PREFIX.match(path.stem)
    return path.stem[prefix.end() :] if prefix else path.stem


def issue_files(content_dir: Path) -> list[Path]:
    """Every issue file, sorted by name (which starts with the date).

    A missing folder is an error (a wrong `content_dir` or `--root`); an empty one is not.
    """
    folder = content_dir / "issues"
    if not folder.is_dir():
        raise ContentError(f"no issues folder at {display_path(folder)}/")
    return sorted(folder.glob("*.md"))


def load_issues(
    content_dir: Path, *, drafts: bool = False, exclude: Collection[Path] = ()
) -> list[Issue]:
    """Load every issue, newest first; drafts only when asked. Slugs must be unique.

    `exclude`: resolved paths of files to leave out (broken ones `sphere publish` passes over).
    """
    files = issue_files(content_dir)
    issues = [load_issue(path) for path in files if not exclude or path.resolve() not in exclude]
    check_unique_slugs(issues)
    chosen = [issue for issue in issues if drafts or not issue.is_draft]
    return sorted(chosen, key=lambda issue: (issue.date, issue.slug), reverse=True)


def duplicate_slugs(issues: Iterable[Issue]) -> list[ContentError]:
    """An error for each issue whose slug an earlier file (by name: by date) already has."""
    first: dict[str, Issue] = {}
    errors = []
    for issue in sorted(issues, key=lambda issue: issue.path.name):
        if issue.slug not in first:
            first[issue.slug] = issue
            continue
        errors.append(
            ContentError(
                f"slug {issue.slug!r} is already used by {first[issue.slug].path.name}: "
                "rename the file or set another 'slug'",
                path=issue.path,
                line=issue.line_of("slug"),
                key="slug",
            )
        )
    return errors


def check_unique_slugs(issues: Iterable[Issue]) -> None:
    """Raise the first duplicate slug's error (two issues would publish to one page)."""
    errors = duplicate_slugs(issues)
    if errors:
        raise errors[0]


def load_issue(path: Path) -> Issue:
    """Parse one issue file, or raise ContentError at the offending line."""
    text = read_issue_text(path)
    front, body, body_line = split_front_matter(text, path)
    data, key_lines = parse_front_matter(front, path)
    # UTF-8 decodes one way only: the text's encoding is the file's bytes, to hash once here
    # (the build cache keys on it) rather than read again.
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return issue_from(data, key_lines, path=path, body=body, body_line=body_line, digest=digest)


def read_issue_text(path: Path) -> str:
    """The file's text, or a ContentError at the line of the first byte that is not UTF-8.

    Only a regular file of at most MAX_ISSUE_BYTES: a link to /dev/zero or a fifo in a
    guest's pull request would otherwise exhaust the memory or wait for ever.
    """
    try:
        with open(path, "rb", opener=_nonblocking) as stream:  # (Path.open takes no opener)
            status = os.fstat(stream.fileno())
            if not stat.S_ISREG(status.st_mode):
                raise ContentError(
                    "not a regular file: an issue is a Markdown file", path=path, line=1
                )
            # Its size and a byte more (a file growing meanwhile is read on, up to the
            # limit): reading the limit at once would make a 1 MB buffer for each 5 kB file.
            data = stream.read(min(status.st_size, MAX_ISSUE_BYTES) + 1)
            if len(data) > status.st_size:
                data += stream.read(MAX_ISSUE_BYTES + 1 - len(data))
    except OSError as error:
        raise ContentError(f"cannot read: {error.strerror}", path=path) from None
    if len(data) > MAX_ISSUE_BYTES:
        raise ContentError(
            f"the file is over {MAX_ISSUE_BYTES // 1024 // 1024} MB: an issue is text (put "
            "pictures under content/images/)",
            path=path,
            line=1,
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ContentError(
            f"not UTF-8 text (byte 0x{data[error.start]:02x}); save the file as UTF-8 "
            "(most editors offer it under 'Save with encoding')",
            path=path,
            line=data[: error.start].count(b"\n") + 1,
        ) from None


def _nonblocking(name: str, flags: int) -> int:
    """Open without waiting: a fifo opened for reading would wait for a writer for ever."""
    return os.open(name, flags | os.O_NONBLOCK)


def split_front_matter(text: str, path: Path) -> tuple[str, str, int]:
    """Split `---` front matter from the body; the body's first line number comes third."""
    text = text.removeprefix("\ufeff")
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].rstrip() != "---":
        raise ContentError(
            "missing front matter: the file must start with a '---' line", path=path, line=1
        )
    for index, line in enumerate(lines[1:], start=1):
        if line.rstrip() in ("---", "..."):
            return "".join(lines[1:index]), "".join(lines[index + 1 :]), index + 2
    raise ContentError("front matter is not closed: add a '---' line after it", path=path, line=1)


def parse_front_matter(front: str, path: Path) -> tuple[dict[str, Any], dict[str, int]]:
    """Parse the YAML mapping and note each key's line (front matter starts on line 2)."""
    try:
        loader = _Loader(front)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as error:
        raise _yaml_error(error, front, path) from None
    if data is None:
        data = {}
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode | type(None)):
        raise ContentError("front matter must be a mapping of keys to values", path=path, line=2)
    key_lines = {}
    for key_node, _ in node.value if node is not None else []:
        key_lines[str(key_node.value)] = key_node.start_mark.line + 2
    return data, key_lines


# Where the parser's context is a construct that it scanned to the end without closing (a
# quote, a bracket, a key without its colon), the mistake is where the construct starts.
_OPENED_AT = ("while scanning a quoted", "while parsing a flow", "while scanning a simple key")
_YAML_HINTS = {
    "mapping values are not allowed": "put a value that holds ': ' in quotes",
    "found unexpected end of stream": "a quote is not closed",
    "did not find expected ',' or ']'": "a '[' is not closed: put a value that starts with "
    "'[' in quotes",
    "could not find expected ':'": "a line is missing its ':' after the key",
}


def _yaml_error(error: yaml.YAMLError, front: str, path: Path) -> ContentError:
    """A YAML error at the line of the mistake (front matter starts on line 2), with a hint."""
    context = str(getattr(error, "context", None) or "")
    mark = getattr(error, "problem_mark", None)
    if context.startswith(_OPENED_AT) and getattr(error, "context_mark", None) is not None:
        mark = error.context_mark  # type: ignore[attr-defined]
    last = front.count("\n") + 1  # an error at the end of the stream is on the last line
    line = min(mark.line + 2, last) if mark is not None else 1
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    hint = next((text for start, text in _YAML_HINTS.items() if problem.startswith(start)), "")
    message = f"front matter is not valid YAML: {problem}" + (f" ({hint})" if hint else "")
    return ContentError(message, path=path, line=line)


def issue_from(
    data: dict[str, Any],
    key_lines: dict[str, int],
    *,
    path: Path,
    body: str,
    body_line: int,
    digest: bytes = b"",
) -> Issue:
    """An Issue from parsed front matter and its body, or ContentError at the bad key's line."""

    def fail(key: str, message: str) -> ContentError:
        return ContentError(message, path=path, line=key_lines.get(key, 1), key=key)

    for key in REQUIRED_KEYS:
        if key not in data or data[key] in (None, ""):
            raise fail(key, f"missing '{key}' in the front matter")
    title = _one_line(data, "title", fail)
    summary = _one_line(data, "summary", fail)
    subject = _one_line(data, "subject", fail) if data.get("subject") else title
    status = data.get("status", "draft")
    if status not in STATUSES:
        raise fail("status", f"'status' must be draft or ready, got {status!r}")
    image = data.get("image")
    if image is not None and not isinstance(image, str):
        raise fail("image", f"'image' must be a path such as images/cover.png, got {image!r}")
    image_alt = _one_line(data, "image_alt", fail) if "image_alt" in data else ""
    slug = data.get("slug") or slug_from_name(path)
    if not isinstance(slug, str) or not _SLUG.fullmatch(slug):
        fix = "fix 'slug'" if "slug" in data else "rename the file"
        raise fail("slug", f"slug {slug!r} must be lowercase words joined by hyphens ({fix})")
    if not body.strip():
        raise ContentError(
            "the issue has no text below its front matter", path=path, line=body_line, key="body"
        )
    return Issue(
        path=path,
        slug=slug,
        title=title,
        date=_date(data.get("date"), fail),
        send_time=_send_time(data, fail),
        summary=summary,
        subject=subject,
        status=status,
        image=image,
        image_alt=image_alt,
        body=body,
        body_line=body_line,
        key_lines=key_lines,
        extra_keys=tuple(key for key in data if key not in KNOWN_KEYS),
        digest=digest,
    )


def _one_line(data: dict[str, Any], key: str, fail: Any) -> str:
    value = data[key]
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise fail(key, f"'{key}' must be text, got {type(value).__name__}")
    text = " ".join(str(value).split())
    if not text:
        raise fail(key, f"'{key}' must not be empty")
    return text


def _send_time(data: dict[str, Any], fail: Any) -> dt.time | None:
    """The issue's own send time, or None for the newsletter's."""
    if data.get("send_time") is None:
        return None
    try:
        return send_time(data["send_time"])
    except ValueError as problem:
        raise fail("send_time", f"'send_time': {problem}") from None


def _date(value: Any, fail: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = value.strip() if isinstance(value, str) else ""
    parts = _ISO_DATE.fullmatch(text)
    if parts is None:
        raise fail("date", f"'date' must be YYYY-MM-DD, got {str(value)!r}")
    year, month, day = (int(part) for part in parts.groups())
    if year < 1:
        raise fail("date", f"'date' {text} does not exist: there is no year 0")
    if not 1 <= month <= 12:
        raise fail("date", f"'date' {text} does not exist: there is no month {month}")
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        raise fail(
            "date",
            f"'date' {text} does not exist: {calendar.month_name[month]} {year} has {days} days",
        )
    return dt.date(year, month, day)
