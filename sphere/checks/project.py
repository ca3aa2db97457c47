"""`sphere check` over a whole project: every issue, the templates, and the rules that need
all issues at once (duplicate slugs, links between issues, stale dates), then the network."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sphere.checks.body import IMAGE_LIMIT
from sphere.checks.findings import Finding, counts, finding, from_error
from sphere.checks.issue import IssueChecker, IssueResult, check_one
from sphere.checks.links import check_urls
from sphere.checks.templates import footer, mjml_tags, undeclared, use_findings
from sphere.checks.welcome import check_welcome
from sphere.content.issues import (
    KNOWN_KEYS,
    Issue,
    duplicate_slugs,
    issue_files,
    slug_from_name,
)
from sphere.content.markup import Body
from sphere.errors import LocatedError, SphereError
from sphere.pool import parallel_map
from sphere.settings import Settings

log = logging.getLogger(__name__)

STALE_AFTER = dt.timedelta(days=30)


def never_sent(_issue: Issue) -> bool:
    """Whether an issue has gone out; until there is a send ledger, nothing has."""
    return False


@dataclass
class CheckReport:
    """Every finding, sorted by file and line, and how many issues were checked."""

    findings: list[Finding] = field(default_factory=list)
    issues: int = 0

    @property
    def errors(self) -> int:
        return counts(self.findings)[0]

    @property
    def warnings(self) -> int:
        return counts(self.findings)[1]

    def failed(self, *, strict: bool = False) -> bool:
        return self.errors > 0 or (strict and self.warnings > 0)

    def summary(self) -> str:
        issues = _count(self.issues, "issue")
        if not self.findings:
            return f"checked {issues}: no problems"
        return (
            f"checked {issues}: {_count(self.errors, 'error')}, {_count(self.warnings, 'warning')}"
        )


def _count(number: int, noun: str) -> str:
    """`1 error`, `2 errors`, `0 errors`."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def check_project(
    settings: Settings,
    *,
    today: dt.date | None = None,
    is_sent: Callable[[Issue], bool] = never_sent,
    links: bool = False,
    timeout: float = 10.0,
    image_limit: int = IMAGE_LIMIT,
    jobs: int | None = None,
) -> CheckReport:
    """Check every issue (drafts too) and the email templates; never raises for a broken issue.

    `today` is the clock for the stale-date rule; `is_sent` tells whether an issue has gone
    out (the send ledger plugs in here); `links` follows external links over the network.
    """
    today = today or settings.today()
    paths = issue_files(settings.content_dir)  # none: a wrong --root; "no problems" would lie
    try:
        checker = IssueChecker(settings, image_limit=image_limit)
    except LocatedError as error:  # a template that does not parse, a broken theme
        return CheckReport(
            [from_error("template/invalid", error, settings.templates_dir)], len(paths)
        )
    results = _check_all(checker, paths, settings, image_limit, jobs)
    found = [f for result in results for f in result.findings]
    whole = _without(results, *KNOWN_KEYS, "body")
    if whole:
        found += _templates(checker, whole[0])
    # An issue loaded with stand-ins (see `salvage`) is left out of the rules that need them.
    found += _duplicate_slugs(_without(results, "slug"))
    found += _unknown_issues(results)
    found += _stale(_without(results, "date", "status"), today, is_sent)
    found += check_welcome(settings, image_limit=image_limit)
    if links:
        found += _external(results, timeout)
    return CheckReport(sorted(set(found)), len(paths))


def _without(results: Sequence[IssueResult], *keys: str) -> list[Issue]:
    """The issues whose `keys` are the author's (not stood in for)."""
    return [r.issue for r in results if r.issue is not None and not r.repaired.intersection(keys)]


def _check_all(
    checker: IssueChecker,
    paths: Sequence[Path],
    settings: Settings,
    image_limit: int,
    jobs: int | None,
) -> list[IssueResult]:
    """Each issue's own checks, in order; in the process pool when there are many (Markdown is
    slow). `jobs` caps the processes (default: the cores this process may use)."""
    global _worker
    _worker = checker  # this process's (and forked workers') checker: no second start-up
    try:
        return list(
            parallel_map(
                _work,
                paths,
                initializer=_start_worker,
                initargs=(settings, image_limit),
                workers=jobs,
            )
        )
    finally:
        _worker = None


_worker: IssueChecker | None = None


def _start_worker(settings: Settings, image_limit: int) -> None:
    """Set up a worker's checker, unless it has one already (this process, or forked from it)."""
    global _worker
    if _worker is None:
        _worker = IssueChecker(settings, image_limit=image_limit)


def _work(path: Path) -> IssueResult:
    assert _worker is not None  # noqa: S101 (set by the pool's initializer)
    return check_one(_worker, path)


def _templates(checker: IssueChecker, issue: Issue) -> list[Finding]:
    """Template rules, rendered once with the first issue that loads."""
    renderer, recorder = checker.renderer, checker.recorder
    recorder.uses.clear()
    found = undeclared(renderer, issue)
    try:
        mjml = renderer.email_mjml(issue, Body(html="", images=(), links=()))
        found += mjml_tags(renderer, mjml)
        rendered = renderer.render(issue)
        found += footer(checker.settings, rendered.email_html, rendered.email_text)
    except SphereError:
        pass  # the issue's own check reports it
    return found + use_findings(recorder.uses, checker.settings.templates_dir)


def _duplicate_slugs(issues: Sequence[Issue]) -> list[Finding]:
    return [
        from_error("content/duplicate-slug", e, e.path or Path()) for e in duplicate_slugs(issues)
    ]


def _unknown_issues(results: Sequence[IssueResult]) -> list[Finding]:
    # A file that does not load still has a slug (from its name): no second finding for it.
    slugs = {r.issue.slug if r.issue else slug_from_name(r.path) for r in results}
    return [
        finding(
            "link/unknown-issue",
            result.path,
            line,
            f"{href} links to the archive page of '{slug}', but no issue has that slug",
        )
        for result in results
        for slug, line, href in result.archive_links
        if slug not in slugs
    ]


def _stale(
    issues: Sequence[Issue], today: dt.date, is_sent: Callable[[Issue], bool]
) -> list[Finding]:
    return [
        finding(
            "content/stale-date",
            issue.path,
            issue.line_of("date"),
            f"dated {issue.date.isoformat()}, {(today - issue.date).days} days ago, ready and "
            "not sent: publishing would send it at once; set the date it should go out",
        )
        for issue in issues
        if issue.status == "ready" and today - issue.date > STALE_AFTER and not is_sent(issue)
    ]


def _external(results: Sequence[IssueResult], timeout: float) -> list[Finding]:
    statuses = check_urls((url for r in results for url, _ in r.external_links), timeout=timeout)
    found = []
    for result in results:
        for url, line in result.external_links:
            status = statuses[url]
            if status.rule is not None:
                found.append(finding(status.rule, result.path, line, status.message))
    return found
