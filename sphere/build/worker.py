"""One issue's part of a build, done wherever the pool runs it: render (or take it from the
cache), write its email files and archive page into the staging folder, and hand back only what
the archive's index, feed and sitemap need.

Keeping the heavy results (the email, its MIME template, the body) in the process that made
them is what lets a build of a thousand issues run in flat memory and keep both cores busy:
the main process receives a few kilobytes per issue, never the rendered issue itself.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from sphere.archive import Pages, feed_html
from sphere.build.cache import Location, RenderCache
from sphere.content.issues import Issue
from sphere.mail.issue import issue_message
from sphere.mail.limits import clipping, largest_html_size
from sphere.mail.message import date_header
from sphere.mail.preview import preview_files, preview_recipient
from sphere.output import Output
from sphere.render.email import RenderedIssue, Renderer
from sphere.render.environment import make_environment
from sphere.settings import Settings


@dataclass(frozen=True)
class Job:
    """An issue to build, with its build cache key (None: no cache); with `page`, also its
    archive page, linking to its neighbours there (bodies left out)."""

    issue: Issue
    key: str | None = None
    page: bool = False
    newer: Issue | None = None
    older: Issue | None = None


@dataclass(frozen=True)
class Problem:
    """Something `sphere check` calls an error, seen in passing: a warning (error with --strict)."""

    path: Path
    line: int
    rule: str
    message: str


@dataclass
class Built:
    """What the main process needs of a built issue."""

    slug: str
    feed_html: str
    images: tuple[str, ...]
    files: list[str]  # its files, relative to the staging folder
    same: list[str]  # those identical to the previous build's: not written (see Output)
    cached: tuple[str, Location] | None  # its build cache key, and where the entry is
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # the cache's warnings


@dataclass
class Setup:
    """What every build process is given once."""

    settings: Settings
    staging: Path
    previous: Path
    cached: bool  # with the build cache
    today: dt.date  # decides each archived issue's state (due, scheduled, draft)
    cache_index: dict[str, Location] = field(default_factory=dict)
    compiled: Path | None = None  # this build's own folder of compiled templates, if pooled


class _Worker:
    """One build process's renderer, cache and outputs, reused for every issue it builds."""

    def __init__(self, setup: Setup):
        self.settings = setup.settings
        self.renderer = Renderer(setup.settings, compiled=setup.compiled)
        self.cache = RenderCache(setup.settings, setup.cache_index) if setup.cached else None
        self.index = setup.cache_index
        self.email = Output(setup.staging / "email", setup.previous / "email", defer=True)
        self.site = Output(setup.staging / "site", setup.previous / "site", defer=True)
        self.reader = preview_recipient(setup.settings)
        self.pages = Pages(setup.settings, self.renderer.env, self.site, setup.today)

    def build(self, job: Job) -> Built:
        item, cached = self._rendered(job.issue, job.key)
        # The Outputs live as long as the process (they remember the folders made); their
        # lists start afresh for each issue, so that they hold what this one adds.
        self.email.files, self.email.same, self.site.files, self.site.same = [], [], [], []
        self._write_email(item)
        if job.page:
            self.pages.issue_page(item, newer=job.newer, older=job.older)
        files = [f"email/{p.name}" for p in self.email.files]
        files += [f"site/{p.relative_to(self.site.root).as_posix()}" for p in self.site.files]
        same = [f"email/{name}" for name in self.email.same]
        same += [f"site/{name}" for name in self.site.same]
        notes = self.cache.problems[:] if self.cache is not None else []
        if self.cache is not None:
            self.cache.problems.clear()
        return Built(
            slug=job.issue.slug,
            feed_html=feed_html(self.settings, item),
            images=tuple(sorted({image.src for image in item.images})),
            files=files,
            same=same,
            cached=cached,
            problems=self._problems(item),
            notes=notes,
        )

    def _rendered(
        self, issue: Issue, key: str | None
    ) -> tuple[RenderedIssue, tuple[str, Location] | None]:
        """The issue rendered, or from the cache under `key`; and where its cache entry is."""
        if self.cache is None or key is None:
            return self.renderer.render(issue), None
        hit = self.cache.get(key, issue, self.renderer)
        if hit is not None:
            return hit, (key, self.index[key])
        item = self.renderer.render(issue)
        where = self.cache.put(item)
        return item, (key, where) if where is not None else None

    def _write_email(self, item: RenderedIssue) -> None:
        """The email as the preview reader gets it: .html, .txt and the whole .eml.

        The .eml is dated at midnight (UTC) of the issue's date and has a fixed Message-ID,
        so an unchanged issue builds to the same bytes (and its files are linked from the
        previous build). The .html, opened from disk, shows the images from `../site/`.
        """
        slug = item.issue.slug
        message = issue_message(self.settings, item)
        text, html = preview_files(self.settings, item, message, "../site/")
        self.email.write(f"{slug}.txt", text)
        self.email.write(f"{slug}.html", html)
        midnight = dt.datetime.combine(item.issue.date, dt.time(), dt.UTC).timestamp()
        eml = message.render(
            self.reader,
            date=date_header(midnight),
            message_id=f"<preview.{slug}@{message.message_id_domain}>",
        )
        self.email.write(f"{slug}.eml", eml)

    def _problems(self, item: RenderedIssue) -> list[Problem]:
        clipped = clipping(largest_html_size(self.settings, item.email_html))
        if clipped is None:
            return []
        issue = item.issue
        return [Problem(issue.path, issue.text_line, "email/clipped", clipped)]


_worker: _Worker | None = None


def start(setup: Setup) -> None:
    """Set up this process to build issues (the pool's initializer)."""
    global _worker  # one renderer and one cache per process, made once
    _worker = _Worker(setup)


def stop() -> None:
    """Forget this process's set-up (at the end of a build: its compiled-templates folder
    goes with it)."""
    global _worker
    _worker = None


def environment(settings: Settings) -> jinja2.Environment:
    """The theme's Jinja environment: this process's renderer's, when it has set itself up
    for this build (its templates are compiled as they are needed, once), else a new one."""
    if _worker is not None and _worker.settings is settings:
        return _worker.renderer.env
    return make_environment(settings.templates_dir)


def build_issue(job: Job) -> Built:
    """Build one issue in this process (after `start`)."""
    assert _worker is not None  # noqa: S101 (set by `start`)
    return _worker.build(job)
