"""The project as `sphere preview` sees it: issues loaded and rendered on demand, kept until
a file they depend on changes.

`Workspace.poll()`, called by a background thread every few tens of milliseconds, compares the
files' modification times and sizes with the last scan (`sphere.preview.watch`) and invalidates
only what depends on a changed file (each issue's cache slot is an `Entry`). Errors are kept
as the one-line `file:line: error: message` the page shows, never raised out of the server.
"""

from __future__ import annotations

import logging
import shutil
import threading
from pathlib import Path
from typing import Any

from sphere import output
from sphere.archive import write_archive
from sphere.content.issues import duplicate_slugs, load_issue
from sphere.errors import SphereError
from sphere.mail.preview import local_images, preview_email
from sphere.preview.entry import Entry
from sphere.preview.watch import Signature, scan
from sphere.render.email import RenderedIssue, Renderer
from sphere.settings import PYPROJECT, Settings, load_settings

log = logging.getLogger(__name__)

ARCHIVE_ONLY = ("web", "static")  # template folders that the email does not use


class Workspace:
    """The project as the preview sees it: issues loaded eagerly, rendered lazily, cached.

    `poll()` (the watcher thread) compares file signatures with the last scan and invalidates
    only what depends on a changed file: an issue file its own rendering, a content image the
    issues that use it, an email template or the theme every rendering, a web template or
    static file only the archive, and pyproject.toml everything. Every method takes the lock:
    the HTTP server calls them from several threads at once.
    """

    def __init__(self, settings: Settings, *, drafts: bool = True):
        self.root = settings.root
        self.source = settings.root / PYPROJECT
        self.drafts = drafts
        self.lock = threading.RLock()
        self.changed = threading.Condition()  # notified when `version` goes up
        self.version = 1
        self._settings: Settings | None = settings
        self._settings_error: str | None = None
        self._dirs = (settings.content_dir, settings.templates_dir)
        self._renderer: Renderer | None = None
        self._renderer_error: str | None = None
        self._entries: dict[Path, Entry] = {}
        self._known_slugs: dict[Path, str] = {}
        self._archive: Path | None = None
        self._archive_error: str | None = None
        self._archive_lock = threading.Lock()  # one archive written at a time
        self.archive_stamp = self.version
        self._tmp = output.make_temporary("sphere-preview-")
        try:
            self._snapshot = self._scan()
            self._load_all()
        except BaseException:
            self.close()  # no temporary folder left behind
            raise

    # --- watching ------------------------------------------------------------------------

    def _scan(self) -> dict[Path, Signature]:
        return scan([self.source, *self._dirs])

    def poll(self) -> bool:
        """Look for changed files; invalidate what depends on them. True if anything changed."""
        with self.lock:  # (also against a second caller: the tests poll by hand)
            snapshot = self._scan()
            if snapshot == self._snapshot:
                return False
            changed = {
                path
                for path in snapshot.keys() | self._snapshot.keys()
                if snapshot.get(path) != self._snapshot.get(path)
            }
            version = self.version + 1
            edited = self._apply(changed, version)
            self._snapshot = self._scan() if self.source in changed else snapshot
            # Edited issues that a page has shown are rendered before it is told, so that it
            # can reload their views at once (see `news`); the rest wait until asked for.
            for entry in edited:
                if entry.wanted:
                    self.error_of(entry)
        with self.changed:
            self.version = version
            self.changed.notify_all()
        log.info("changed: %s", ", ".join(sorted(_show(p, self.root) for p in changed)))
        return True

    def _apply(self, changed: set[Path], version: int) -> list[Entry]:
        """Invalidate what depends on `changed`; the issues whose files changed come back."""
        self._forget_archive(version)
        settings = self._settings
        if settings is None or self.source in changed:
            self._reload_settings()
            self._load_all(version)
            return []
        templates = [p for p in changed if p.is_relative_to(settings.templates_dir)]
        if templates:
            self._renderer, self._renderer_error = None, None
            email_too = any(
                p.relative_to(settings.templates_dir).parts[0] not in ARCHIVE_ONLY
                for p in templates
            )
            if email_too:
                for entry in self._entries.values():
                    entry.forget_render(version)
        issues_dir = settings.content_dir / "issues"
        edited = []
        for path in changed:
            if not path.is_relative_to(settings.content_dir):
                continue
            if path.parent == issues_dir and path.suffix == ".md":
                edited += self._load(path, version)
            else:  # an image: the issues that use it, and those that failed (it may be new)
                for entry in self._entries.values():
                    uses = entry.rendered is not None and any(
                        settings.content_dir / image.src == path for image in entry.rendered.images
                    )
                    if uses or entry.render_error:
                        entry.forget_render(version)
        self._mark_duplicates()
        return edited

    def _reload_settings(self) -> None:
        self._renderer, self._renderer_error = None, None
        try:
            self._settings, self._settings_error = load_settings(self.root), None
        except SphereError as error:
            self._settings, self._settings_error = None, str(error)
            return
        self._dirs = (self._settings.content_dir, self._settings.templates_dir)

    # --- loading -------------------------------------------------------------------------

    def _load_all(self, version: int | None = None) -> None:
        self._entries = {}
        if self._settings is not None:
            for path in sorted((self._settings.content_dir / "issues").glob("*.md")):
                self._load(path, version or self.version)
        self._mark_duplicates()

    def _load(self, path: Path, version: int) -> list[Entry]:
        if not path.is_file():
            self._entries.pop(path, None)
            return []
        old = self._entries.get(path)
        entry = Entry(path=path, slug=self._known_slugs.get(path, path.stem), stamp=version)
        entry.wanted = old is not None and old.wanted
        try:
            entry.issue = load_issue(path)
            entry.slug = self._known_slugs[path] = entry.issue.slug
        except SphereError as error:
            entry.load_error = str(error)
        self._entries[path] = entry
        return [entry]

    def _mark_duplicates(self) -> None:
        loaded = {}
        for entry in self._entries.values():
            entry.duplicate_error = None
            if entry.issue is not None:
                loaded[entry.issue.path] = entry
        for error in duplicate_slugs(entry.issue for entry in loaded.values() if entry.issue):
            loaded[error.path or Path()].duplicate_error = str(error)

    def entries(self) -> list[Entry]:
        """The issues to show, broken ones first, then newest first (drafts when asked)."""
        with self.lock:
            shown = [
                entry
                for entry in self._entries.values()
                if self.drafts or entry.issue is None or not entry.issue.is_draft
            ]

        def order(entry: Entry) -> tuple[bool, str, str]:
            date = entry.issue.date.isoformat() if entry.issue else ""
            return (entry.broken is not None, date, entry.slug)

        return sorted(shown, key=order, reverse=True)

    def find(self, key: str | None) -> Entry | None:
        """The issue with this slug (or file stem); else the file edited last."""
        entries = self.entries()
        for entry in entries:
            if key in (entry.slug, entry.path.stem):
                return entry
        return max(entries, key=lambda e: self._snapshot.get(e.path, (0, 0)), default=None)

    # --- rendering -----------------------------------------------------------------------

    def renderer(self) -> Renderer:
        """The renderer for the current templates; SphereError if settings or templates fail."""
        with self.lock:
            if self._settings is None:
                raise SphereError(self._settings_error or "settings did not load")
            if self._renderer_error is not None:
                raise SphereError(self._renderer_error)
            if self._renderer is None:
                try:
                    self._renderer = Renderer(self._settings)
                except SphereError as error:
                    self._renderer_error = str(error)
                    raise
            return self._renderer

    @property
    def settings(self) -> Settings:
        return self.renderer().settings

    def render(self, entry: Entry) -> RenderedIssue:
        """The entry's rendering, from the cache if nothing it depends on changed."""
        with self.lock:
            entry.wanted = True
            if entry.broken:
                raise SphereError(entry.broken)
            renderer = self.renderer()
            if entry.rendered is None and entry.render_error is None:
                assert entry.issue is not None  # noqa: S101 (no load error means loaded)
                try:
                    entry.rendered = renderer.render(entry.issue)
                except SphereError as error:
                    entry.render_error = str(error)
                except Exception as error:  # a bug must not stop the server; show it
                    log.exception("rendering %s failed", entry.path)
                    entry.render_error = f"error: {type(error).__name__}: {error} (a bug)"
            if entry.render_error is not None:
                raise SphereError(entry.render_error)
            assert entry.rendered is not None  # noqa: S101
            return entry.rendered

    def error_of(self, entry: Entry) -> str | None:
        """The one-line error that keeps this issue from rendering, if any."""
        try:
            self.render(entry)
        except SphereError as error:
            return str(error)
        return None

    def email(self, entry: Entry) -> tuple[str, str]:
        """The issue's text and HTML as the preview reader gets them, images from /content/."""
        rendered = self.render(entry)
        settings = self.settings
        text, html = preview_email(settings, rendered)
        return text, local_images(html, settings, (i.src for i in rendered.images), "/content/")

    def archive(self) -> Path:
        """The web archive of every issue that renders, drafts included, written once per change.

        It is written outside the main lock, so the email views need not wait for it.
        """
        with self._archive_lock:
            with self.lock:
                if self._archive_error is not None:
                    raise SphereError(self._archive_error)
                if self._archive is not None:
                    return self._archive
                stamp, settings, env = self.archive_stamp, self.settings, self.renderer().env
                rendered = []
                for entry in self.entries():
                    try:
                        rendered.append(self.render(entry))
                    except SphereError:
                        continue  # shown in the page; the archive has the rest
            rendered.sort(key=lambda item: (item.issue.date, item.issue.slug), reverse=True)
            site = self._tmp / f"site-{stamp}"
            shutil.rmtree(site, ignore_errors=True)
            try:
                write_archive(settings, env, rendered, site)
            except SphereError as error:
                with self.lock:
                    if stamp == self.archive_stamp:
                        self._archive_error = str(error)
                raise
            with self.lock:
                if stamp == self.archive_stamp:  # else a file changed meanwhile: serve it once
                    self._archive = site
            return site

    def _forget_archive(self, version: int) -> None:
        if self._archive is not None:
            shutil.rmtree(self._archive, ignore_errors=True)
        self._archive, self._archive_error, self.archive_stamp = None, None, version

    def state(self, key: str | None) -> dict[str, Any]:
        """What the page shows of the issue `key` (or the default one), as JSON-ready data."""
        with self.lock:
            entry = self.find(key)
            issues = [
                {
                    "slug": item.slug,
                    "title": item.issue.title if item.issue else item.path.name,
                    "date": item.issue.date.isoformat() if item.issue else None,
                    "status": item.issue.status if item.issue else None,
                    "broken": bool(item.broken or item.render_error),
                }
                for item in self.entries()
            ]
            state: dict[str, Any] = {
                "version": self.version,
                "archive_stamp": self.archive_stamp,
                "issues": issues,
                "slug": None,
                "error": self._settings_error,
                "issues_dir": _show(self._dirs[0] / "issues", self.root),
            }
            if entry is None:
                return state
            issue = entry.issue
            state |= {
                "slug": entry.slug,
                "stamp": entry.stamp,
                "file": _show(entry.path, self.root),
                "error": self.error_of(entry),
                "title": issue.title if issue else entry.path.name,
                "subject": issue.subject if issue else "",
                "summary": issue.summary if issue else "",
                "date": issue.date.isoformat() if issue else "",
                "status": issue.status if issue else "",
            }
            return state

    def news(self) -> dict[str, Any]:
        """What changed, for `/events`: each issue's stamp, and whether it rendered (if known)."""
        with self.lock:
            issues = {
                entry.slug: {
                    "stamp": entry.stamp,
                    "ok": entry.ok,
                }
                for entry in self._entries.values()
            }
            return {"version": self.version, "archive_stamp": self.archive_stamp, "issues": issues}

    def close(self) -> None:
        output.remove(self._tmp)


def _show(path: Path, root: Path) -> str:
    """`path` as the page and the log name it: relative to the project, if it is inside."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
