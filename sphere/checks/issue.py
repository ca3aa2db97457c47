"""One issue's checks: its front matter, its body as rendered, and the size of its email."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from sphere.checks.body import IMAGE_LIMIT, LenientMarkdown, check_body, local_image
from sphere.checks.findings import Finding, finding, from_error
from sphere.checks.greeting import first_name_findings
from sphere.checks.templates import new_recorder, use_findings
from sphere.content.issues import (
    KNOWN_KEYS,
    Issue,
    issue_from,
    load_issue,
    parse_front_matter,
    read_issue_text,
    split_front_matter,
)
from sphere.content.markup import Body
from sphere.errors import ContentError, LocatedError, SphereError
from sphere.mail.limits import KB, SIZE_WARNING, clipping, largest_html_size
from sphere.render.email import Renderer
from sphere.render.environment import BODY_LIMIT, render_limited
from sphere.settings import Settings

SUMMARY_LIMIT = 160  # what the widest inbox previews and a search result show of it
SUBJECT_LIMIT = 70


@dataclass
class IssueResult:
    """What one issue's check found, and what the project-wide rules need from it."""

    path: Path
    issue: Issue | None  # None when it could not be loaded
    findings: list[Finding] = field(default_factory=list)
    archive_links: list[tuple[str, int, str]] = field(default_factory=list)
    external_links: list[tuple[str, int]] = field(default_factory=list)
    # Front-matter values that were wrong (each a finding) and stood in for, so that the rest
    # of the issue could be checked: the rules that need them skip the issue.
    repaired: frozenset[str] = frozenset()


class IssueChecker:
    """Checks issues one at a time with one Renderer (build it once per process).

    `renderer` and `load` let the welcome email (sphere.checks.welcome) be checked by the same
    rules: its own renderer (more names) and loader (other defaults); a file that `load`
    refuses is reported as it is, not salvaged as an issue."""

    def __init__(
        self,
        settings: Settings,
        *,
        image_limit: int = IMAGE_LIMIT,
        renderer: Callable[..., Renderer] = Renderer,
        load: Callable[[Path], Issue] = load_issue,
    ):
        self.settings = settings
        self.image_limit = image_limit
        self.markdown = LenientMarkdown(settings.content_dir)
        self.recorder = new_recorder()
        self.renderer = renderer(settings, markdown=self.markdown, undefined=self.recorder)
        self.load = load
        self.lenient_env = self.renderer.body_env.overlay(undefined=jinja2.ChainableUndefined)

    def check(self, path: Path) -> IssueResult:
        try:
            found: list[Finding] = []
            issue, repaired = self.load(path), frozenset[str]()
        except ContentError as error:
            if self.load is not load_issue:
                return IssueResult(path, None, [from_error("content/invalid", error, path)])
            # Checked as far as it goes: the front matter is parsed again only for an issue
            # that failed (YAML is slow), and each bad value is reported, then stood in for.
            salvaged = salvage(path)
            if salvaged is None:
                return IssueResult(path, None, [from_error("content/invalid", error, path)])
            issue, found, repaired = salvaged
        result = IssueResult(path, issue, found + front_matter(issue), repaired=repaired)
        result.findings += self._cover(issue)
        if not issue.body.strip():
            return result  # (reported: there is nothing to render)
        result.findings += first_name_findings(issue, self.renderer.body_env)
        self.recorder.uses.clear()
        try:
            body, email_html = self._render(issue, result.findings)
        finally:
            result.findings += use_findings(self.recorder.uses, self.settings.templates_dir)
        if body is None:
            return result
        report = check_body(
            issue,
            self.markdown.read,
            content_dir=self.settings.content_dir,
            base_url=self.settings.base_url,
            image_limit=self.image_limit,
            removed=self.markdown.removed,
        )
        result.findings += report.findings
        if email_html is not None:
            result.findings += self.size(issue, email_html)
        result.archive_links, result.external_links = report.archive_links, report.external_links
        return result

    def _render(self, issue: Issue, findings: list[Finding]) -> tuple[Body | None, str | None]:
        """The body as HTML and the email's HTML, None for what cannot be rendered (its error
        added to `findings`): the body's rules still run when only the email fails, or when
        the text's `{{ variables }}` fail (on the text with the undefined ones left empty)."""
        whole = True
        expanded: Issue | None
        try:
            expanded = self.renderer.expand_variables(issue)
        except LocatedError as error:
            findings.append(self._render_error(error, issue))
            expanded, whole = self._expand_leniently(issue), False
        if expanded is None:
            return None, None
        try:
            body = self.markdown.render(expanded)
        except LocatedError as error:
            findings.append(self._render_error(error, issue))
            return None, None
        if not whole:
            return body, None
        try:
            return body, self.renderer.email_html(expanded, body)
        except LocatedError as error:
            findings.append(self._render_error(error, issue))
            return body, None

    def _expand_leniently(self, issue: Issue) -> Issue | None:
        """The text's `{{ variables }}` with undefined ones empty; None if it does not parse."""
        try:
            template = self.lenient_env.from_string(issue.body)
            # Within the same limits as the build: a loop without end would hang the check.
            body = render_limited(template, self.renderer.body_context(issue), limit=BODY_LIMIT)
        # A syntax error, or an expression of the author's that fails ({{ 1 / 0 }} raises
        # ZeroDivisionError): anything can come out of it, and then there is nothing to check.
        except Exception:  # noqa: BLE001
            return None
        return dataclasses.replace(issue, body=body)

    def _render_error(self, error: LocatedError, issue: Issue) -> Finding:
        blame_issue = error.path is None or error.path == issue.path
        rule = "content/invalid" if blame_issue else "template/invalid"
        return from_error(rule, error, issue.path)

    def _cover(self, issue: Issue) -> list[Finding]:
        if not issue.image:
            if not issue.image_alt:
                return []
            line = issue.line_of("image_alt")
            why = (
                "'image_alt' describes the cover 'image', and there is none: "
                "add the 'image' or remove 'image_alt'"
            )
            return [finding("image/alt-without-image", issue.path, line, why)]
        line = issue.line_of("image")
        content = self.settings.content_dir
        return local_image(issue, issue.image, line, content, self.image_limit, has_width=True)

    def size(self, issue: Issue, email_html: str) -> list[Finding]:
        """The HTML's size as the largest personal copy will be (Gmail clips past 102 KB)."""
        size = largest_html_size(self.settings, email_html)
        clipped = clipping(size)
        if clipped is not None:
            return [finding("email/clipped", issue.path, issue.text_line, clipped)]
        if size > SIZE_WARNING:
            return [
                finding(
                    "email/size",
                    issue.path,
                    issue.text_line,
                    f"the email's HTML is {size / KB:.1f} KB,"
                    " close to Gmail's 102 KB clipping limit",
                )
            ]
        return []


def check_one(checker: IssueChecker, path: Path) -> IssueResult:
    """`checker.check`, with any surprise reported as a finding rather than stopping the run."""
    try:
        return checker.check(path)
    except SphereError as error:
        line = error.line if isinstance(error, LocatedError) else None
        return IssueResult(path, None, [finding("content/invalid", path, line, str(error))])


_PLACEHOLDER = "x"  # passes validation; replaced by an empty value once the issue is built


def salvage(path: Path) -> tuple[Issue, list[Finding], frozenset[str]] | None:
    """An issue that failed to load, with each wrong front-matter value reported and stood in
    for, so that every other rule can still run; None when the front matter cannot be read.

    A missing title, summary or text is left empty; a bad date, status, image or slug becomes
    a harmless one (and the rules that need it skip the issue: see `IssueResult.repaired`).
    """
    try:
        front, body, body_line = split_front_matter(read_issue_text(path), path)
        data, key_lines = parse_front_matter(front, path)
    except (OSError, UnicodeDecodeError, ContentError):
        return None  # the caller reports the error that brought it here
    found: list[Finding] = []
    repaired: set[str] = set()
    for _ in range(len(KNOWN_KEYS) + 2):  # each round repairs one more value
        try:
            issue = issue_from(
                data,
                key_lines,
                path=path,
                body=_PLACEHOLDER if "body" in repaired else body,
                body_line=body_line,
            )
        except ContentError as problem:
            key = problem.key
            if key is None or key in repaired:
                return None
            repaired.add(key)
            found.append(_problem_finding(problem, key, data, path))
            data = _stand_in(data, key, path)
            continue
        return _emptied(issue, repaired, data), found, frozenset(repaired)
    return None


def _problem_finding(problem: ContentError, key: str, data: dict[str, Any], path: Path) -> Finding:
    if key == "summary" and not str(data.get("summary") or "").strip():
        return finding(
            "summary/missing",
            path,
            problem.line,
            "the issue has no summary: add 'summary:', one or two sentences shown as the "
            "email's preheader and the archive's excerpt",
        )
    return from_error("content/invalid", problem, path)


def _stand_in(data: dict[str, Any], key: str, path: Path) -> dict[str, Any]:
    data = {k: v for k, v in data.items() if k != key}
    if key in ("title", "summary"):
        data[key] = _PLACEHOLDER
    elif key == "date":  # the file name's date, else any: the date rules skip this issue
        data[key] = "2000-01-01"
        with contextlib.suppress(TypeError, ValueError):
            data[key] = dt.date.fromisoformat(path.name[:10]).isoformat()
    elif key == "status":
        data[key] = "draft"
    elif key == "slug":
        data[key] = "-".join(re.findall(r"[a-z0-9]+", path.stem.lower())) or "issue"
    return data  # subject and image: left out (the title, no image)


def _emptied(issue: Issue, repaired: set[str], data: dict[str, Any]) -> Issue:
    """`issue` with the placeholders of `salvage` emptied (no rule reports an empty value)."""
    changes: dict[str, Any] = {}
    if "title" in repaired:
        changes["title"] = ""
        if not data.get("subject"):
            changes["subject"] = ""
    if "summary" in repaired:
        changes["summary"] = ""
    if "body" in repaired:
        changes["body"] = ""
    return dataclasses.replace(issue, **changes)


def front_matter(issue: Issue) -> list[Finding]:
    """Unknown keys, the summary's and the subject's length and tone."""
    found = []
    for key in issue.extra_keys:
        close = difflib.get_close_matches(key, KNOWN_KEYS, n=1, cutoff=0.6)
        hint = f": did you mean '{close[0]}'?" if close else f" (known: {', '.join(KNOWN_KEYS)})"
        found.append(
            finding(
                "content/unknown-key",
                issue.path,
                issue.line_of(key),
                f"unknown front-matter key '{key}'{hint}",
            )
        )
    if len(issue.summary) > SUMMARY_LIMIT:
        found.append(
            finding(
                "summary/too-long",
                issue.path,
                issue.line_of("summary"),
                f"the summary is {len(issue.summary)} characters: inboxes show about "
                f"{SUMMARY_LIMIT} of the preheader; shorten it",
            )
        )
    found += subject(issue)
    return found


def subject(issue: Issue) -> list[Finding]:
    """Subjects that spam filters and readers distrust."""
    line = issue.line_of("subject" if "subject" in issue.key_lines else "title")
    text, found = issue.subject, []
    if len(text) > SUBJECT_LIMIT:
        found.append(
            finding(
                "subject/too-long",
                issue.path,
                line,
                f"the subject is {len(text)} characters: phones show about {SUBJECT_LIMIT}; "
                "set a shorter 'subject'",
            )
        )
    letters = [char for char in text if char.isalpha()]
    if len(letters) >= 8 and sum(char.isupper() for char in letters) > len(letters) / 2:
        found.append(
            finding(
                "subject/capitals",
                issue.path,
                line,
                "the subject is mostly in capitals, which reads as shouting and as spam",
            )
        )
    if text.count("!") > 1:
        found.append(
            finding(
                "subject/exclamations",
                issue.path,
                line,
                f"the subject has {text.count('!')} exclamation marks: spam filters count them",
            )
        )
    return found
