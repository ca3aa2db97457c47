"""Rendered issues kept between builds, so a rebuild renders only what changed.

Rendering an issue (Python-Markdown, then MJML) costs milliseconds; an archive of 200 issues
in which the author changed one need not pay 200 times. Each cached issue is keyed by a hash
of everything its rendering reads: the issue's file, the templates, the settings and Sphere's
version. Its images are checked again on use (size and modification time), since a picture
can change without its issue changing. Each issue is one small JSON file under
`.sphere/cache/issues/`, named by its key (no pickle: nothing in it is ever executed), so a
build reads only the entries of the issues it builds, and each build process writes its own;
deleting the folder only costs one slow build.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sphere import __version__
from sphere.content.issues import Issue
from sphere.content.markup import Body, Image
from sphere.errors import display_path
from sphere.render.email import RenderedIssue, Renderer
from sphere.settings import Settings

CACHE_DIR = Path(".sphere/cache/issues")
OLD_CACHE_FILE = Path(".sphere/cache/rendered.json")  # one file for all issues, before format 2
_FORMAT = 2


@dataclass(frozen=True)
class _Entry:
    body_html: str
    images: list[tuple[str, int, int]]
    links: list[str]
    cover: tuple[str, int, int] | None
    email_html: str
    email_text: str
    stamps: dict[str, list[int]]  # image path -> [size, mtime_ns] when rendered


class RenderCache:
    """The build cache of one project, as one build process uses it: get, put, and (in the
    main process, once the build is done) `prune` the entries no issue uses any more."""

    def __init__(self, settings: Settings, context: bytes | None = None):
        self.settings = settings
        self.folder = settings.root / CACHE_DIR
        self._context = fingerprint(settings) if context is None else context
        # Problems to report (a damaged entry, an unwritable folder): a build process hands
        # them to the main one, which logs them, so they show however the build runs.
        self.problems: list[str] = []

    def key(self, issue: Issue) -> str:
        return hashlib.sha256(self._context + issue.path.read_bytes()).hexdigest()

    def get(self, key: str, issue: Issue, renderer: Renderer) -> RenderedIssue | None:
        """The cached rendering of `issue`, if nothing it depends on has changed."""
        entry = self._read(key)
        if entry is None or not self._images_unchanged(entry):
            return None
        body = Body(
            html=entry.body_html,
            images=tuple(Image(*image) for image in entry.images),
            links=tuple(entry.links),
        )
        cover = Image(*entry.cover) if entry.cover else None
        return renderer.assemble(issue, body, cover, entry.email_html, entry.email_text)

    def put(self, key: str, item: RenderedIssue) -> None:
        """Remember a fresh rendering (of the issue's file as loaded, before variables)."""
        images = [(i.src, i.width, i.height) for i in item.body.images]
        cover = (item.cover.src, item.cover.width, item.cover.height) if item.cover else None
        entry = _Entry(
            body_html=item.body.html,
            images=images,
            links=list(item.body.links),
            cover=cover,
            email_html=item.email_html,
            email_text=item.email_text,
            stamps={src: self._stamp(src) for src in _sources(images, cover)},
        )
        data = json.dumps({"format": _FORMAT, **entry.__dict__}, ensure_ascii=False)
        path = self.folder / f"{key}.json"
        temporary = path.with_name(f".{key}.tmp-{os.getpid()}")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            temporary.write_text(data, encoding="utf-8")
            temporary.replace(path)
        except OSError as error:  # a cache is an optimisation: never fail a build for it
            self.problems.append(
                f"could not save the build cache {display_path(path)}: {error.strerror}"
            )
            with contextlib.suppress(OSError):
                temporary.unlink()

    def prune(self, used: Iterable[str]) -> None:
        """Delete the entries of issues that no longer exist or changed (and the old format)."""
        keep = {f"{key}.json" for key in used}
        with contextlib.suppress(OSError):
            (self.settings.root / OLD_CACHE_FILE).unlink()
        try:
            names = [entry.name for entry in os.scandir(self.folder)]
        except OSError:
            return
        for name in names:
            if name not in keep:
                with contextlib.suppress(OSError):
                    (self.folder / name).unlink()

    def _read(self, key: str) -> _Entry | None:
        path = self.folder / f"{key}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != _FORMAT:
                return None
            return _entry(data)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as error:
            self.problems.append(
                f"{display_path(path)}: ignoring a damaged build cache entry ({error})"
            )
            return None

    def _stamp(self, src: str) -> list[int]:
        stat = (self.settings.content_dir / src).stat()
        return [stat.st_size, stat.st_mtime_ns]

    def _images_unchanged(self, entry: _Entry) -> bool:
        try:
            return all(self._stamp(src) == stamp for src, stamp in entry.stamps.items())
        except OSError:  # an image is gone: render again, to report it properly
            return False


def _entry(value: dict[str, Any]) -> _Entry:
    cover = value["cover"]
    return _Entry(
        body_html=value["body_html"],
        images=[(str(s), int(w), int(h)) for s, w, h in value["images"]],
        links=list(value["links"]),
        cover=(str(cover[0]), int(cover[1]), int(cover[2])) if cover else None,
        email_html=value["email_html"],
        email_text=value["email_text"],
        stamps={str(k): list(v) for k, v in value["stamps"].items()},
    )


def _sources(
    images: Iterable[tuple[str, int, int]], cover: tuple[str, int, int] | None
) -> set[str]:
    return {src for src, _, _ in images} | ({cover[0]} if cover else set())


def fingerprint(settings: Settings) -> bytes:
    """What every issue's rendering depends on besides its own file: the settings, the
    templates, and the code that renders (Sphere's own and its Markdown and MJML versions)."""
    import markdown
    import mjml

    versions = f"{__version__} {markdown.__version__} {getattr(mjml, '__version__', '')}"
    digest = hashlib.sha256(f"{versions}\0{settings!r}\0".encode())
    code = Path(__file__).parent.parent  # the whole sphere package
    for folder, pattern in ((settings.templates_dir, "*"), (code, "*.py")):
        for path in sorted(folder.rglob(pattern)):
            if path.is_file():
                digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
                digest.update(path.read_bytes() + b"\0")
    return digest.digest()
