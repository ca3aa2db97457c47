"""One issue's checks: its front matter, its body as rendered, and the size of its email."""

from __future__ import annotations

import difflib
import html
from dataclasses import dataclass, field
from pathlib import Path

from sphere.checks.body import IMAGE_LIMIT, LenientMarkdown, check_body, local_image
from sphere.checks.findings import Finding, finding, from_error
from sphere.checks.templates import install_recorder, use_findings
from sphere.content import KNOWN_KEYS, Issue, load_issue, parse_front_matter, split_front_matter
from sphere.errors import ContentError, LocatedError, SphereError
from sphere.mail import UNSUBSCRIBE_URL
from sphere.render import Renderer
from sphere.settings import Settings

KB = 1024
CLIP_LIMIT = 102 * KB  # Gmail clips a message's HTML beyond this
SIZE_WARNING = 90 * KB
SUMMARY_LIMIT = 160  # what the widest inbox previews and a search result show of it
SUBJECT_LIMIT = 70
# A signed personal token is well under this; the size check assumes the worst.
WORST_CASE_TOKEN = "T" * 200


@dataclass
class IssueResult:
    """What one issue's check found, and what the project-wide rules need from it."""

    path: Path
    issue: Issue | None  # None when it could not be loaded
    findings: list[Finding] = field(default_factory=list)
    archive_links: list[tuple[str, int, str]] = field(default_factory=list)
    external_links: list[tuple[str, int]] = field(default_factory=list)


class IssueChecker:
    """Checks issues one at a time with one Renderer (build it once per process)."""

    def __init__(self, settings: Settings, *, image_limit: int = IMAGE_LIMIT):
        self.settings = settings
        self.image_limit = image_limit
        self.renderer = Renderer(settings)
        self.markdown = LenientMarkdown(settings.content_dir)
        self.renderer.markdown = self.markdown
        self.recorder = install_recorder(self.renderer)

    def check(self, path: Path) -> IssueResult:
        try:
            issue = load_issue(path)
        except ContentError as error:
            # A missing summary has a rule of its own (the front matter is parsed again only
            # for an issue that failed: YAML is slow).
            summary = _missing_summary(path)
            found = summary or from_error("content/invalid", error, path)
            return IssueResult(path, None, [found])
        result = IssueResult(path, issue, front_matter(issue))
        result.findings += self._cover(issue)
        self.recorder.uses.clear()
        try:
            expanded = self.renderer.expand_variables(issue)
            body = self.markdown.render(expanded)
            email_html = self.renderer.email_html(expanded, body)
        except LocatedError as error:
            result.findings.append(self._render_error(error, issue))
            return result
        finally:
            result.findings += use_findings(self.recorder.uses, self.settings.templates_dir)
        report = check_body(
            issue,
            body.html,
            content_dir=self.settings.content_dir,
            base_url=self.settings.base_url,
            image_limit=self.image_limit,
        )
        result.findings += report.findings + self.size(issue, email_html)
        result.archive_links, result.external_links = report.archive_links, report.external_links
        return result

    def _render_error(self, error: LocatedError, issue: Issue) -> Finding:
        blame_issue = error.path is None or error.path == issue.path
        rule = "content/invalid" if blame_issue else "template/invalid"
        return from_error(rule, error, issue.path)

    def _cover(self, issue: Issue) -> list[Finding]:
        if not issue.image:
            return []
        line = issue.line_of("image")
        content = self.settings.content_dir
        return local_image(issue, issue.image, line, content, self.image_limit, has_width=True)

    def size(self, issue: Issue, email_html: str) -> list[Finding]:
        """The HTML's size as the largest personal copy will be (Gmail clips past 102 KB)."""
        url = f"{self.settings.endpoint_url}unsubscribe?t={WORST_CASE_TOKEN}"
        size = len(email_html.replace(UNSUBSCRIBE_URL, html.escape(url)).encode("utf-8"))
        said = f"the email's HTML is {size / KB:.1f} KB"
        if size > CLIP_LIMIT:
            return [
                finding(
                    "email/clipped",
                    issue.path,
                    issue.text_line,
                    f"{said}: Gmail clips messages over 102 KB, hiding the rest and the "
                    "unsubscribe link; shorten the issue or split it",
                )
            ]
        if size > SIZE_WARNING:
            return [
                finding(
                    "email/size",
                    issue.path,
                    issue.text_line,
                    f"{said}, close to Gmail's 102 KB clipping limit",
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


def _missing_summary(path: Path) -> Finding | None:
    try:
        front, _, _ = split_front_matter(path.read_text(encoding="utf-8"), path)
        data, key_lines = parse_front_matter(front, path)
    except (OSError, UnicodeDecodeError, ContentError):
        return None  # loading the issue reports it
    if str(data.get("summary") or "").strip():
        return None
    return finding(
        "summary/missing",
        path,
        key_lines.get("summary", 1),
        "the issue has no summary: add 'summary:', one or two sentences shown as the email's "
        "preheader and the archive's excerpt",
    )


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
