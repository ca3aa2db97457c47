"""`sphere build`: every issue rendered into email files and the web archive, all or nothing.

The build writes into a fresh temporary folder beside the output and swaps it in only when
everything succeeded, so a broken issue leaves the previous `dist/` exactly as it was.
"""

from __future__ import annotations

import datetime as dt
import logging
import multiprocessing
import os
import shutil
import tempfile
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path

from sphere.archive import write_archive
from sphere.build.cache import RenderCache
from sphere.build.output import Output
from sphere.content.issues import Issue, load_issues
from sphere.errors import SphereError, display_path
from sphere.folders import check_replaceable, mark
from sphere.mail.message import UNSUBSCRIBE_URL, Recipient, fill
from sphere.render.email import RenderedIssue, Renderer, preview_unsubscribe_url
from sphere.screenshots import Shot
from sphere.settings import Settings

log = logging.getLogger(__name__)

PREVIEW_RECIPIENT_ADDRESS = "preview@sphere.invalid"
EMAIL_WIDTHS = (375, 600)  # a phone, and the email's own width
ARCHIVE_WIDTH = 1024
LIST_AT_MOST = 10  # issues named one by one in the report
PARALLEL_MIN_ISSUES = 16  # per worker: below that, starting processes costs more than it saves


@dataclass
class BuildReport:
    """What a build wrote, for the CLI to report."""

    out: Path
    issues: list[str] = field(default_factory=list)  # slugs, newest first
    files: list[Path] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = display_path(self.out)
        count = len(self.issues)
        lines = [f"built {count} issue{'s' if count != 1 else ''} into {out}/"]
        lines += [f"  {out}/email/{slug}.html, .txt, .eml" for slug in self.issues[:LIST_AT_MOST]]
        if count > LIST_AT_MOST:
            lines.append(f"  ... and {count - LIST_AT_MOST} more in {out}/email/")
        site_files = sum(1 for f in self.files if "site" in f.relative_to(self.out).parts[:1])
        lines.append(f"  {out}/site/ ({site_files} files; open {out}/site/index.html)")
        shots = sum(1 for f in self.files if "screenshots" in f.relative_to(self.out).parts[:1])
        if shots:
            lines.append(f"  {out}/screenshots/ ({shots} PNG files)")
        return lines


def preview_recipient(settings: Settings) -> Recipient:
    """The reader a preview is addressed to, with a visibly fake personal link."""
    return Recipient(
        address=PREVIEW_RECIPIENT_ADDRESS,
        name="Preview Reader",
        unsubscribe_url=preview_unsubscribe_url(settings),
        unsubscribe_mailto=f"mailto:{settings.unsubscribe_mailto}?subject=unsubscribe%20PREVIEW",
    )


def preview_email(settings: Settings, item: RenderedIssue) -> tuple[str, str]:
    """The issue's text and HTML as the preview reader sees them (build and preview alike)."""
    values = {UNSUBSCRIBE_URL: preview_recipient(settings).unsubscribe_url}
    return (
        fill(item.email_text, values, escape_html=False),
        fill(item.email_html, values, escape_html=True),
    )


def render_issues(
    settings: Settings, *, drafts: bool = False, cache: bool = False
) -> tuple[Renderer, list[RenderedIssue]]:
    """Load and render every issue (newest first); raises at the first broken one.

    With `cache`, issues unchanged since the last build come from the build cache. Rendering
    is CPU-bound (Python-Markdown costs most of it), so many issues to render are shared
    among a pool of processes, one per core; a handful stays in-process.
    """
    renderer = Renderer(settings)
    issues = load_issues(settings.content_dir, drafts=drafts)
    store = RenderCache(settings) if cache else None
    cached = [store.get(issue, renderer) if store else None for issue in issues]
    missing = [issue for issue, hit in zip(issues, cached, strict=True) if hit is None]
    fresh = _render_all(settings, renderer, missing)
    if store is not None:
        for issue, item in zip(missing, fresh, strict=True):
            store.put(item, issue)
        store.save()
    renders = iter(fresh)
    return renderer, [hit if hit is not None else next(renders) for hit in cached]


def _render_all(settings: Settings, renderer: Renderer, issues: list[Issue]) -> list[RenderedIssue]:
    workers = min(os.cpu_count() or 1, len(issues) // PARALLEL_MIN_ISSUES)
    if workers < 2:
        return [renderer.render(issue) for issue in issues]
    context = multiprocessing.get_context("fork" if "fork" in _START_METHODS else "spawn")
    chunk = max(1, len(issues) // (workers * 4))
    with ProcessPoolExecutor(
        workers, context, initializer=_start_worker, initargs=(settings,)
    ) as pool:
        return list(pool.map(_render_in_worker, issues, chunksize=chunk))


_worker_renderer: Renderer | None = None
_START_METHODS = multiprocessing.get_all_start_methods()


def _start_worker(settings: Settings) -> None:
    global _worker_renderer  # one Renderer per worker process, built once
    _worker_renderer = Renderer(settings)


def _render_in_worker(issue: Issue) -> RenderedIssue:
    assert _worker_renderer is not None  # noqa: S101 (set by the pool's initializer)
    return _worker_renderer.render(issue)


def build_all(
    settings: Settings,
    *,
    out: Path | None = None,
    drafts: bool = False,
    screenshots: bool = False,
    cache: bool = True,
) -> BuildReport:
    """Render everything into `out` (default: the `output_dir` setting), replacing it whole.

    With `screenshots`, each email (375 and 600 px, light and dark) and archive page is also
    shot in headless Chromium into `out/screenshots/`, before the swap: a failure there
    leaves the previous output in place too. `cache`: reuse renderings of unchanged issues
    from `.sphere/cache/` (see sphere.build.cache).
    """
    out = (out or settings.output_dir).resolve()
    check_replaceable(out, settings)  # before any work: never replace what Sphere did not make
    renderer, rendered = render_issues(settings, drafts=drafts, cache=cache)
    staging = _staging_folder(out)
    try:
        mark(staging)
        files = write_emails(settings, rendered, staging / "email", previous=out / "email")
        files += write_archive(
            settings, renderer.env, rendered, staging / "site", previous=out / "site"
        )
        if screenshots:
            files += take_review_screenshots(staging, [item.issue.slug for item in rendered])
        _swap_in(staging, out)
    except OSError as error:  # a full disk, say: the previous output stays as it was
        shutil.rmtree(staging, ignore_errors=True)
        where = display_path(Path(error.filename)) if error.filename else display_path(out)
        raise SphereError(f"cannot write {where}: {error.strerror}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    report = BuildReport(out=out, issues=[item.issue.slug for item in rendered])
    report.files = [out / f.relative_to(staging) for f in files]
    log.info("built %d issues into %s", len(rendered), out)
    return report


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
    shots = []
    for slug in slugs:
        email = out / "email" / f"{slug}.html"
        for width in EMAIL_WIDTHS:
            for scheme in ("light", "dark"):
                shots.append(Shot(f"{slug}-email-{width}-{scheme}", email, width, scheme))
        page = out / "site" / "issues" / slug / "index.html"
        shots.append(Shot(f"{slug}-archive-{ARCHIVE_WIDTH}", page, ARCHIVE_WIDTH))
    return shots


def take_review_screenshots(out: Path, slugs: Sequence[str]) -> list[Path]:
    from sphere.screenshots import take_screenshots

    return take_screenshots(review_shots(out, slugs), out_dir=out / "screenshots")


def write_emails(
    settings: Settings,
    rendered: Sequence[RenderedIssue],
    folder: Path,
    *,
    previous: Path | None = None,
) -> list[Path]:
    """Each issue's email as the preview reader gets it: .html, .txt and the whole .eml.

    The .eml is dated at midnight (UTC) of the issue's date and has a fixed Message-ID, so an
    unchanged issue builds to the same bytes (and its files are linked from `previous`).
    """
    output = Output(folder, previous)
    folder.mkdir(parents=True)
    reader = preview_recipient(settings)
    for item in rendered:
        slug = item.issue.slug
        text, html = preview_email(settings, item)
        output.write_text(f"{slug}.txt", text)
        output.write_text(f"{slug}.html", html)
        midnight = dt.datetime.combine(item.issue.date, dt.time(), dt.UTC).timestamp()
        eml = item.message.render(
            reader,
            date=formatdate(midnight, usegmt=True),
            message_id=f"<preview.{slug}@{item.message.message_id_domain}>",
        )
        output.write(f"{slug}.eml", eml)
    return output.files


def _swap_in(staging: Path, out: Path) -> None:
    """Replace `out` by `staging` with renames, so `out` is never half-written."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        out.rename(old)
    staging.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
