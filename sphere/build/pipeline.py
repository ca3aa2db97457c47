"""`sphere build`: every issue rendered into email files and the web archive, all or nothing.

The build writes into a fresh temporary folder beside the output and swaps it in only when
everything succeeded, so a broken issue leaves the previous `dist/` exactly as it was. Each
issue is built where the pool runs it (sphere.build.worker); this process loads the issues,
hands them out, and writes what spans them all: the index, the feed, the sitemap, the assets.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import logging
import os
import shutil
import signal
import tempfile
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sphere.build import state
from sphere.build.cache import Location, fingerprint, issue_key, read_index, save_index
from sphere.content.issues import Issue, issue_files, load_issues
from sphere.errors import BuildProblems, SphereError, display_path
from sphere.output import MARKER, Output, check_replaceable, files_below, mark
from sphere.settings import Settings

if TYPE_CHECKING:  # imported by a build that renders (`_workers`), not by a no-op one
    from sphere.archive import Pages
    from sphere.build.worker import Built, Problem
    from sphere.pool import Workers
    from sphere.screenshots import Shot

log = logging.getLogger(__name__)

EMAIL_WIDTHS = (375, 600)  # a phone, and the email's own width
ARCHIVE_WIDTH = 1024
LIST_AT_MOST = 10  # issues named one by one in the report


@dataclass
class BuildReport:
    """What a build wrote, and what it saw, for the CLI to report."""

    out: Path
    issues: list[str] = field(default_factory=list)  # slugs, newest first
    names: list[str] = field(default_factory=list)  # its files, relative to `out` (POSIX)
    warnings: list[str] = field(default_factory=list)  # `file:line: warning: ...` lines
    failure: str | None = None  # why part of the build (the screenshots) could not be done
    waiting: list[Issue] = field(default_factory=list)  # built, but not in the archive yet

    def lines(self) -> list[str]:
        out = display_path(self.out)
        count = len(self.issues)
        lines = [f"built {count} issue{'s' if count != 1 else ''} into {out}/"]
        lines += [f"  {out}/email/{slug}.html, .txt, .eml" for slug in self.issues[:LIST_AT_MOST]]
        if count > LIST_AT_MOST:
            lines.append(f"  ... and {count - LIST_AT_MOST} more in {out}/email/")
        site_files = self._count("site")
        lines.append(f"  {out}/site/ ({site_files} files; see it with `uv run sphere preview`)")
        for issue in self.waiting[:LIST_AT_MOST]:
            state = "a draft" if issue.is_draft else f"scheduled for {issue.date:%Y-%m-%d}"
            lines.append(f"  {issue.slug} is {state}: not in the archive (--drafts shows it)")
        shots = self._count("screenshots")
        if shots:
            lines.append(f"  {out}/screenshots/ ({shots} PNG files)")
        return lines

    def _count(self, folder: str) -> int:
        """How many of the files are in the output's `folder`."""
        return sum(1 for name in self.names if name.startswith(f"{folder}/"))


def build_all(
    settings: Settings,
    *,
    out: Path | None = None,
    drafts: bool = False,
    screenshots: bool = False,
    cache: bool = True,
    strict: bool = False,
    today: dt.date | None = None,
    exclude: Collection[Path] = (),
) -> BuildReport:
    """Render everything into `out` (default: the `output_dir` setting), replacing it whole.

    With `screenshots`, each email (375 and 600 px, light and dark) and archive page is also
    shot in headless Chromium into `out/screenshots/`, before the swap: a failure there
    leaves the previous output in place too. Without a browser to shoot them with, the rest
    is built and `report.failure` says what to install. `cache`: reuse renderings of
    unchanged issues from `.sphere/cache/` (see sphere.build.cache). What `sphere check` would
    call an error and the build sees in passing (an email Gmail will clip) is a warning in the
    report, or, with `strict`, an error that stops the build. `today` (default: the
    newsletter's today) decides which issues the archive holds: those whose date has come, and
    with `drafts` (a preview) every other one too, marked as such. `exclude`: issue files to
    leave out (resolved paths: the broken ones a publish passes over).
    """
    out = (out or settings.output_dir).resolve()
    check_replaceable(out, settings)  # before any work: never replace what Sphere did not make
    today = today or settings.today()
    keyed = cache and not screenshots  # a build whose output is recorded
    load = functools.partial(_Loaded.of, settings, drafts, exclude, cache, out, today, keyed)
    loaded = None
    if keyed and state.recorded(settings):  # it may have nothing to do: find out first
        loaded = load()
        last = state.unchanged(settings, loaded.key, out)
        if last is not None and not (strict and last[1]):
            return _report(out, loaded.issues, loaded.archived, *last)
    state.forget(settings)
    unavailable = _screenshots_unavailable() if screenshots else None
    staging = _staging_folder(out)
    try:
        mark(staging)
        (staging / "email").mkdir()
        with _workers(settings, staging, out, cache, today) as (workers, index):
            # Without a record, nothing can be unchanged: the workers set themselves up while
            # the issues load.
            loaded = loaded or load()
            indexes = _Indexes(settings, loaded.archived, staging / "site", out / "site", today)
            built = _build_issues(settings, loaded, workers, index, indexes.write)
        problems = [problem for item in built for problem in item.problems]
        if strict and problems:
            raise BuildProblems("\n".join(_located(p, "error") for p in problems))
        site = indexes.finish(built)
        same = [name for item in built for name in item.same]
        same += [f"site/{name}" for name in site.same]
        names = [name for item in built for name in item.files]
        names += [f"site/{p.relative_to(site.root).as_posix()}" for p in site.files]
        if not screenshots and len(same) == len(names) and _files_of(out) == {*names, MARKER}:
            shutil.rmtree(staging)  # nothing changed: the output stays as it is, untouched
        else:
            Output(staging, out).link_same(same)
            if screenshots and unavailable is None:
                shots = take_review_screenshots(staging, [issue.slug for issue in loaded.issues])
                names += [path.relative_to(staging).as_posix() for path in shots]
            _swap_in(staging, out)
    except OSError as error:  # a full disk, say: the previous output stays as it was
        shutil.rmtree(staging, ignore_errors=True)
        where = display_path(Path(error.filename)) if error.filename else display_path(out)
        raise SphereError(f"cannot write {where}: {error.strerror}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    warnings = [_located(p, "warning") for p in problems]
    report = _report(out, loaded.issues, loaded.archived, names, warnings)
    if loaded.key:
        images = {src for item in built for src in item.images}
        state.record(settings, loaded.key, out, files=names, warnings=warnings, images=images)
    if unavailable is not None:
        where = display_path(out)
        report.failure = f"screenshots not taken: {unavailable}; the rest is built in {where}/"
    log.info("built %d issues into %s", len(loaded.issues), out)
    return report


@dataclass(frozen=True)
class _Loaded:
    """The issues to build, those of them the archive holds, and their build cache keys (none
    without a cache), with the key of the whole build ("" when it is not recorded)."""

    issues: list[Issue]
    archived: list[Issue]
    keys: list[str]
    key: str
    cached: bool  # with the build cache (its index is saved, even when no issue is left)

    @classmethod
    def of(
        cls,
        settings: Settings,
        drafts: bool,
        exclude: Collection[Path],
        cache: bool,
        out: Path,
        today: dt.date,
        keyed: bool,
    ) -> _Loaded:
        issues = load_issues(settings.content_dir, drafts=drafts, exclude=exclude)
        archived = issues if drafts else [issue for issue in issues if issue.is_due(today)]
        context = fingerprint(settings) if cache else None  # what else renderings depend on
        keys = [issue_key(context, i) for i in issues] if context is not None else []
        key = state.build_key(context, keys, out, drafts, today) if keyed and context else ""
        return cls(issues, archived, keys, key, cached=cache)


def _report(
    out: Path,
    issues: Sequence[Issue],
    archived: Sequence[Issue],
    files: list[str],
    warnings: list[str],
) -> BuildReport:
    report = BuildReport(out=out, issues=[issue.slug for issue in issues])
    shown = {issue.slug for issue in archived}  # a set: comparing issues is slow, and n²
    report.waiting = [issue for issue in issues if issue.slug not in shown]
    report.names = files
    report.warnings = warnings
    return report


@contextlib.contextmanager
def _workers(
    settings: Settings, staging: Path, out: Path, cache: bool, today: dt.date
) -> Iterator[tuple[Workers, dict[str, Location]]]:
    """The build's worker processes, as many as its issues are worth, started at once (each
    sets itself up while this process goes on), with the build cache's index."""
    from sphere.build.worker import Setup, start, stop
    from sphere.pool import Workers, worker_count
    from sphere.render.limits import alarm_handler
    from sphere.render.theme import load_theme

    load_theme(settings.templates_dir)  # a missing or broken theme, named before any work
    index = read_index(settings) if cache else {}
    expected = len(issue_files(settings.content_dir))  # (drafts too: as many at most)
    # The alarm handler is kept for every render of this process and its forked workers.
    with alarm_handler(), _compiled_templates(worker_count(expected) > 1) as compiled:
        setup = Setup(settings, staging, out, cache, today, index, compiled)
        try:
            with Workers(start, (setup,), tasks=expected) as workers:
                yield workers, index
        finally:
            stop()  # this process's renderer served this build only (its folder is gone)


def _build_issues(
    settings: Settings,
    loaded: _Loaded,
    workers: Workers,
    index: dict[str, Location],
    meanwhile: Callable[[], None],
) -> list[Built]:
    """Build every issue (by `workers`); the first broken one raises.

    Each gets its email; the archived ones also their archive page, which links to their
    neighbours in the archive. `meanwhile`: this process's work that needs no built issue."""
    from sphere.build.worker import Job, build_issue

    archived = loaded.archived
    bare = [dataclasses.replace(issue, body="") for issue in archived]  # what a neighbour needs
    place = {issue.slug: i for i, issue in enumerate(archived)}
    with_keys: Sequence[str | None] = loaded.keys or [None] * len(loaded.issues)
    jobs = [Job(issue, key) for issue, key in zip(loaded.issues, with_keys, strict=True)]
    for i, job in enumerate(jobs):
        if (at := place.get(job.issue.slug)) is not None:
            newer = bare[at - 1] if at > 0 else None
            older = bare[at + 1] if at + 1 < len(bare) else None
            jobs[i] = dataclasses.replace(job, page=True, newer=newer, older=older)
    built = workers.map(build_issue, jobs, meanwhile=meanwhile)
    notes = [note for item in built for note in item.notes]
    if loaded.cached:
        entries = dict(item.cached for item in built if item.cached)
        notes += save_index(settings, entries, index)
    for note in dict.fromkeys(notes):
        log.warning("%s", note)
    return built


@contextlib.contextmanager
def _compiled_templates(pooled: bool) -> Iterator[Path | None]:
    """A private folder in which the build's processes share their compiled templates (the
    first to compile one leaves its code there, the others load it: this process, which sets
    itself up last, loads the email's templates a worker compiled), removed after the build;
    None for a build in one process."""
    if not pooled:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="sphere-templates-") as folder:
        yield Path(folder)


class _Indexes:
    """The archive's pages that span its issues (the `archived` ones only), written by this
    process: the index, 404 page, sitemap and themed static files while the issues render
    (`write`: they need no rendered issue), then the feed, the images and the search index of
    the published issues' pages (`finish`)."""

    def __init__(
        self,
        settings: Settings,
        archived: Sequence[Issue],
        site: Path,
        previous: Path,
        today: dt.date,
    ):
        self.settings, self.archived, self.today = settings, archived, today
        self.output = Output(site, previous, defer=True)
        self._pages: Pages | None = None

    @property
    def pages(self) -> Pages:
        """Made on first use: with the renderer's environment when this process has set itself
        up already (a build without workers), else one of its own."""
        if self._pages is None:
            from sphere.archive import Pages
            from sphere.build.worker import environment

            self._pages = Pages(self.settings, environment(self.settings), self.output, self.today)
        return self._pages

    def write(self) -> None:
        from sphere.archive import FEED_TEMPLATE

        self.pages.indexes(self.archived)
        self.pages.compile(FEED_TEMPLATE)

    def finish(self, built: Sequence[Built]) -> Output:
        of = {item.slug: item for item in built}
        self.pages.feed(self.archived, [of[issue.slug].feed_html for issue in self.archived])
        self.pages.assets(src for issue in self.archived for src in of[issue.slug].images)
        if self.settings.search:
            from sphere.build import search

            published = [i.slug for i in self.archived if i.state(self.today) == "published"]
            search.write_index(self.output, published)
        return self.output


def _files_of(folder: Path) -> set[str]:
    """Every file below `folder`, relative to it (empty if there is no such folder)."""
    return {name for name, _ in files_below(folder)}


def _located(problem: Problem, level: str) -> str:
    where = f"{display_path(problem.path)}:{problem.line}"
    return f"{where}: {level}: {problem.rule} {problem.message}"


def _screenshots_unavailable() -> str | None:
    """Why no screenshots can be taken here (no Playwright, no Chromium), or None."""
    from sphere.screenshots import browser_unavailable

    return browser_unavailable()


def _staging_folder(out: Path) -> Path:
    """A new empty folder beside `out`, or a SphereError saying why there cannot be one."""
    blocker = next((p for p in out.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise SphereError(f"cannot write to {display_path(out)}: {display_path(blocker)} is a file")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
        # mkdtemp makes it private (0700); the output is for web servers and reviewers too.
        umask = os.umask(0)
        os.umask(umask)
        staging.chmod(0o777 & ~umask)
        return staging
    except OSError as error:
        raise SphereError(f"cannot write to {display_path(out)}: {error.strerror}") from None


def review_shots(out: Path, slugs: Sequence[str]) -> list[Shot]:
    """What a reviewer wants to see of each issue: the email on a phone and a desktop, light
    and dark, and its archive page."""
    from sphere.screenshots import Shot  # only a build with --screenshots needs it

    shots = []
    for slug in slugs:
        email = out / "email" / f"{slug}.html"
        for width in EMAIL_WIDTHS:
            for scheme in ("light", "dark"):
                name = f"{slug}-email-{width}-{scheme}"
                shots.append(Shot(name, email, width, scheme, folder=out))
        page = out / "site" / "issues" / slug / "index.html"
        if page.is_file():  # not for an issue whose date has not come (not in the archive yet)
            shots.append(Shot(f"{slug}-archive-{ARCHIVE_WIDTH}", page, ARCHIVE_WIDTH, folder=out))
    return shots


def take_review_screenshots(out: Path, slugs: Sequence[str]) -> list[Path]:
    from sphere.screenshots import take_screenshots

    return take_screenshots(review_shots(out, slugs), out_dir=out / "screenshots")


def _swap_in(staging: Path, out: Path) -> None:
    """Replace `out` by `staging` with renames, so `out` is never half-written.

    Ctrl-C is held back between the two renames (and delivered after): between them, `out`
    does not exist.
    """
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        if out.exists():
            out.rename(old)
        try:
            staging.rename(out)
        except OSError:
            if old.exists():
                old.rename(out)  # the previous output, back where it was
            raise
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
    shutil.rmtree(old, ignore_errors=True)
