"""The archive's files as a web server should serve them: content type, caching, a hash.

Types are spelled out here rather than asked of `mimetypes`, whose answers depend on the
machine's /etc/mime.types: a deploy from CI and one from a laptop must label files alike.
Every text type says `charset=utf-8` (the archive is written in UTF-8), so no browser guesses.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sphere.errors import DeployError

TYPES = {
    ".html": "text/html",
    ".css": "text/css",
    ".js": "text/javascript",
    ".txt": "text/plain",
    ".xml": "application/xml",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".pdf": "application/pdf",
    # The search index's own formats (sphere/build/search.py): Pagefind's script fetches and
    # unpacks them itself, so they are served as they are, never with a Content-Encoding.
    ".pagefind": "application/octet-stream",
    ".pf_meta": "application/octet-stream",
    ".pf_index": "application/octet-stream",
    ".pf_fragment": "application/octet-stream",
    ".pf_filter": "application/octet-stream",
}
BY_NAME = {"feed.xml": "application/atom+xml"}  # the archive's Atom feed
TEXT_TYPES = re.compile(r"text/.*|application/(.*\+)?(xml|json)|image/svg\+xml|text/javascript")
FALLBACK_TYPE = "application/octet-stream"

# Pages and the feed change whenever an issue is published: readers and feed readers must see
# that within minutes. A fingerprinted asset (a content hash in its name) never changes, so it
# may be kept a year (the theme's stylesheet is one). Other assets (images, the icon) change
# rarely: a day. The search index (pagefind/) names its chunks by a hash of their content
# (en_1a2b3c4.pf_fragment): kept a year too; its entry file, script and WebAssembly keep their
# names across versions and indexes, and must change together: minutes, like pages.
SHORT_CACHE = "public, max-age=300, must-revalidate"
LONG_CACHE = "public, max-age=31536000, immutable"
ASSET_CACHE = "public, max-age=86400"
SHORT_CACHED = {".html", ".xml", ".txt", ".json", ".webmanifest"}
FINGERPRINT = re.compile(r"[.-][0-9a-f]{8,64}\.[A-Za-z0-9]+$")
SEARCH_FOLDER = "pagefind/"
SEARCH_CHUNK = re.compile(r"_[0-9a-f]{7,64}\.pf_[a-z]+$")


def content_type(key: str) -> str:
    """The Content-Type to serve `key` with, charset included for text."""
    name = PurePosixPath(key).name
    kind = BY_NAME.get(name) or TYPES.get(PurePosixPath(name).suffix.lower(), FALLBACK_TYPE)
    return f"{kind}; charset=utf-8" if TEXT_TYPES.fullmatch(kind) else kind


def cache_control(key: str) -> str:
    """The Cache-Control to serve `key` with (see the constants above for why)."""
    name = PurePosixPath(key).name
    if key.startswith(SEARCH_FOLDER):
        return LONG_CACHE if SEARCH_CHUNK.search(name) else SHORT_CACHE
    if PurePosixPath(name).suffix.lower() in SHORT_CACHED:
        return SHORT_CACHE
    return LONG_CACHE if FINGERPRINT.search(name) else ASSET_CACHE


@dataclass(frozen=True, slots=True)
class SiteFile:
    """One file of the built archive and how it is to be served."""

    key: str  # its path in the site, `/`-separated
    path: Path
    md5: str  # hex: what S3 reports as the ETag of a single-part upload
    size: int
    content_type: str
    cache_control: str

    @property
    def fingerprint(self) -> str:
        """What the deploy manifest records: a changed byte, type or cache rule changes it."""
        return f"{self.md5} {self.content_type} {self.cache_control}"

    def read(self) -> bytes:
        return self.path.read_bytes()


def scan(folder: Path) -> dict[str, SiteFile]:
    """Every regular file under `folder` (the built archive), by key, in key order.

    Links are not followed (a link to a file elsewhere on the machine is not published), and
    hidden files are left out: the deploy manifest's name is hidden, so no page can take it.
    """
    if not folder.is_dir():
        raise DeployError(f"no built archive at {folder}: run `sphere build` first")
    found: dict[str, SiteFile] = {}
    for top, subfolders, names in os.walk(folder):
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        for name in sorted(names):
            path = Path(top) / name
            if name.startswith(".") or path.is_symlink() or not path.is_file():
                continue
            key = path.relative_to(folder).as_posix()
            data = path.read_bytes()
            found[key] = SiteFile(
                key=key,
                path=path,
                md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
                size=len(data),
                content_type=content_type(key),
                cache_control=cache_control(key),
            )
    return dict(sorted(found.items()))


def upload_order(key: str) -> tuple[int, str]:
    """Assets first, then issue pages, then the index, feed and sitemap that link to them:
    a reader following a link mid-deploy never finds it missing."""
    if not key.endswith((".html", ".xml")):
        return (0, key)
    return (1, key) if "/" in key else (2, key)
