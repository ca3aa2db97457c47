"""Rendered issues kept between builds, so a rebuild renders only what changed.

Rendering an issue (Python-Markdown, then MJML) costs milliseconds; an archive of 200 issues
in which the author changed one need not pay 200 times. Each cached issue is keyed by a hash
of everything its rendering reads: the issue's file, the templates, the settings and Sphere's
version. Its images are checked again on use (size and modification time), since a picture
can change without its issue changing. The cache is a plain JSON file under `.sphere/cache/`
(no pickle: nothing in it is ever executed); deleting it only costs one slow build.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sphere import __version__
from sphere.content.issues import Issue
from sphere.content.markup import Body, Image
from sphere.render.email import RenderedIssue, Renderer
from sphere.settings import Settings

log = logging.getLogger(__name__)

CACHE_FILE = Path(".sphere/cache/rendered.json")
_FORMAT = 1


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
    """The build cache of one project: look issues up, store what was rendered, save."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.path = settings.root / CACHE_FILE
        self._context = _fingerprint(settings)
        self._entries = self._load()
        self._used: dict[str, _Entry] = {}
        self.hits = 0

    def key(self, issue: Issue) -> str:
        return hashlib.sha256(self._context + issue.path.read_bytes()).hexdigest()

    def get(self, issue: Issue, renderer: Renderer) -> RenderedIssue | None:
        """The cached rendering of `issue`, if nothing it depends on has changed."""
        key = self.key(issue)
        entry = self._entries.get(key)
        if entry is None or not self._images_unchanged(entry):
            return None
        self._used[key] = entry
        self.hits += 1
        body = Body(
            html=entry.body_html,
            images=tuple(Image(*image) for image in entry.images),
            links=tuple(entry.links),
        )
        cover = Image(*entry.cover) if entry.cover else None
        return renderer.assemble(issue, body, cover, entry.email_html, entry.email_text)

    def put(self, item: RenderedIssue, issue: Issue) -> None:
        """Remember a fresh rendering of `issue` (the file as loaded, before variables)."""
        images = [(i.src, i.width, i.height) for i in item.body.images]
        cover = (item.cover.src, item.cover.width, item.cover.height) if item.cover else None
        self._used[self.key(issue)] = _Entry(
            body_html=item.body.html,
            images=images,
            links=list(item.body.links),
            cover=cover,
            email_html=item.email_html,
            email_text=item.email_text,
            stamps={src: self._stamp(src) for src in _sources(images, cover)},
        )

    def save(self) -> None:
        """Write the entries used by this build (the others are stale), atomically."""
        if self._used.keys() == self._entries.keys():
            return
        data = {"format": _FORMAT, "entries": {k: e.__dict__ for k, e in self._used.items()}}
        temporary = self.path.with_suffix(f".tmp-{os.getpid()}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            temporary.replace(self.path)
        except OSError as error:  # a cache is an optimisation: never fail a build for it
            log.warning("could not save the build cache %s: %s", self.path, error.strerror)
            with contextlib.suppress(OSError):
                temporary.unlink()

    def _load(self) -> dict[str, _Entry]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("format") != _FORMAT:
                return {}
            return {key: _entry(value) for key, value in data["entries"].items()}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError, TypeError) as error:
            log.warning("ignoring the unreadable build cache %s: %s", self.path, error)
            return {}

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


def _fingerprint(settings: Settings) -> bytes:
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
