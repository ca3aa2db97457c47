"""Rendered issues kept between builds, so a rebuild renders only what changed.

Rendering an issue (Python-Markdown, then MJML) costs milliseconds; an archive of 200 issues
in which the author changed one need not pay 200 times. Each cached issue is keyed by a hash
of everything its rendering reads: the issue's file, the templates, the settings and Sphere's
version. Its images are checked again on use (size and modification time), since a picture
can change without its issue changing.

Under `.sphere/cache/`: a small index (key -> where the entry is) and pack files of entries,
each a line of JSON (the small fields, and the sizes of the three texts) followed by the texts'
UTF-8 bytes as they are: no pickle, nothing in it is ever executed, and no escaping of 30 kB of
HTML per issue (which cost more than the rest of writing the entry). A build reads the index and
then only the entries of the issues it builds; each build process appends what it rendered to
a pack of its own. One pack per process, not one file per issue, because creating a file costs
up to a millisecond on some disks, more than reading an entry. Packs that are mostly stale are
rewritten. Deleting the folder only costs one slow build.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sphere import __version__
from sphere.content.images import original_of
from sphere.content.issues import Issue
from sphere.errors import display_path
from sphere.output import files_below
from sphere.private import create_private, private_folder, write_private
from sphere.settings import Settings

if TYPE_CHECKING:  # the renderer is imported by the build that renders, not by a no-op one
    from sphere.render.email import RenderedIssue, Renderer

log = logging.getLogger(__name__)

CACHE_DIR = Path(".sphere/cache")
INDEX = "index.json"
OLD_CACHE_FILE = CACHE_DIR / "rendered.json"  # one file for all issues, before format 2
_FORMAT = 3  # 3: the texts stored raw after the JSON line
MAX_PACKS = 8  # more than this, or more stale bytes than live ones: rewrite into one pack

Location = tuple[str, int, int]  # pack file name, offset, length


@dataclass(frozen=True)
class _Entry:
    body_html: str
    images: list[tuple[str, int, int]]
    links: list[str]
    cover: tuple[str, int, int] | None
    email_html: str
    email_text: str
    stamps: dict[str, list[int]]  # image path -> [size, mtime_ns] when rendered


def issue_key(context: bytes, issue: Issue) -> str:
    """The cache key of `issue`: its file's bytes (their digest, taken when it was read), and
    what every rendering depends on."""
    source = issue.digest or hashlib.sha256(issue.path.read_bytes()).digest()
    return hashlib.sha256(context + source).hexdigest()


def read_index(settings: Settings) -> dict[str, Location]:
    """Where each cached entry is (empty when there is no cache, or an unreadable one)."""
    path = settings.root / CACHE_DIR / INDEX
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != _FORMAT:
            return {}
        return {str(k): (str(v[0]), int(v[1]), int(v[2])) for k, v in data["entries"].items()}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError) as error:
        # A cache is an optimisation: without its index, every issue renders (and the index
        # is written anew), but a damaged one is worth a word.
        log.warning("ignoring the unreadable build cache %s: %s", display_path(path), error)
        return {}


class RenderCache:
    """The build cache as one build process uses it: `get` what the index names, `put` fresh
    renderings into this process's own pack."""

    def __init__(self, settings: Settings, index: Mapping[str, Location]):
        self.settings = settings
        self.folder = settings.root / CACHE_DIR
        self._index = index
        self._pack: IO[bytes] | None = None  # unbuffered: pool workers exit unflushed
        self._written = 0
        self._pack_name = ""  # named when first written, by the process that writes it
        self._broken = False
        # Problems to report (a damaged entry, an unwritable folder): a build process hands
        # them to the main one, which logs them, so they show however the build runs.
        self.problems: list[str] = []

    def get(self, key: str, issue: Issue, renderer: Renderer) -> RenderedIssue | None:
        """The cached rendering of `issue`, if nothing it depends on has changed."""
        from sphere.content.markup import Body, Image

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

    def put(self, item: RenderedIssue) -> Location | None:
        """Append a fresh rendering to this process's pack; where it went (None if it could
        not be written)."""
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
        line = _encode(entry)
        try:
            pack = self._open_pack()
            if pack is None:
                return None
            offset = self._written
            pack.write(line)
            self._written += len(line)
        except OSError as error:
            self._give_up(error)
            return None
        return (self._pack_name, offset, len(line))

    def _open_pack(self) -> IO[bytes] | None:
        if self._broken:
            return None
        if self._pack is None:
            self._pack_name = _pack_name()
            try:
                private_folder(self.folder)
                self._pack = create_private(self.folder / self._pack_name, buffering=0)
            except OSError as error:
                self._give_up(error)
                return None
        return self._pack

    def _give_up(self, error: OSError) -> None:
        self._broken = True  # once: not one message per issue
        where = display_path(Path(error.filename)) if error.filename else display_path(self.folder)
        self.problems.append(f"could not save the build cache {where}: {error.strerror}")

    def _read(self, key: str) -> _Entry | None:
        location = self._index.get(key)
        if location is None:
            return None
        name, offset, length = location
        path = self.folder / name
        try:
            with path.open("rb") as pack:
                pack.seek(offset)
                return _decode(pack.read(length))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as error:
            self.problems.append(
                f"{display_path(path)}: ignoring a damaged build cache entry ({error})"
            )
            return None

    def _stamp(self, src: str) -> list[int]:
        stat = (self.settings.content_dir / original_of(src)[0]).stat()
        return [stat.st_size, stat.st_mtime_ns]

    def _images_unchanged(self, entry: _Entry) -> bool:
        try:
            return all(self._stamp(src) == stamp for src, stamp in entry.stamps.items())
        except OSError:  # an image is gone: render again, to report it properly
            return False


def save_index(
    settings: Settings, entries: Mapping[str, Location], previous: Mapping[str, Location]
) -> list[str]:
    """Record where this build's entries are, drop stale packs, and compact when packs are
    mostly stale or many; problems come back as messages (a cache never fails a build)."""
    folder = settings.root / CACHE_DIR
    with contextlib.suppress(OSError):
        (settings.root / OLD_CACHE_FILE).unlink()
    try:
        packs = {p.name: p.stat().st_size for p in folder.glob("pack-*")}
        live: dict[str, int] = {}
        for name, _, length in entries.values():
            live[name] = live.get(name, 0) + length
        if len(live) > MAX_PACKS or sum(packs.values()) > 2 * sum(live.values()):
            entries = _compact(folder, entries)
            live = {name: 1 for name, _, _ in entries.values()}
        if entries != previous:  # (a rebuild with nothing changed creates no file)
            _write_index(folder, entries)
        for name in packs.keys() - live.keys():
            (folder / name).unlink()
    except OSError as error:
        return [f"could not save the build cache {display_path(folder)}: {error.strerror}"]
    return []


def _compact(folder: Path, entries: Mapping[str, Location]) -> dict[str, Location]:
    """Copy the live entries into one new pack."""
    name = _pack_name()
    moved: dict[str, Location] = {}
    with contextlib.ExitStack() as files:
        out = files.enter_context(create_private(folder / name))
        packs: dict[str, IO[bytes]] = {}
        for key, (source, offset, length) in sorted(entries.items(), key=lambda kv: kv[1]):
            if source not in packs:
                packs[source] = files.enter_context((folder / source).open("rb"))
            packs[source].seek(offset)
            moved[key] = (name, out.tell(), length)
            out.write(packs[source].read(length))
    return moved


def _pack_name() -> str:
    return f"pack-{os.getpid()}-{secrets.token_hex(4)}.bin"


def _write_index(folder: Path, entries: Mapping[str, Location]) -> None:
    data = {"format": _FORMAT, "entries": {key: list(where) for key, where in entries.items()}}
    private_folder(folder)
    write_private(folder / INDEX, json.dumps(data).encode("utf-8"))


_TEXTS = ("body_html", "email_html", "email_text")


def _encode(entry: _Entry) -> bytes:
    """An entry as stored: a JSON line of the small fields and the texts' sizes, the texts."""
    texts = [getattr(entry, name).encode("utf-8") for name in _TEXTS]
    small = {k: v for k, v in entry.__dict__.items() if k not in _TEXTS}
    small["sizes"] = [len(text) for text in texts]
    return json.dumps(small).encode("ascii") + b"\n" + b"".join(texts)


def _decode(data: bytes) -> _Entry:
    """The entry stored as `data`; ValueError (or KeyError, TypeError) if it is damaged."""
    head, newline, rest = data.partition(b"\n")
    value = json.loads(head)
    sizes = [int(size) for size in value["sizes"]]
    if not newline or len(sizes) != len(_TEXTS) or sum(sizes) != len(rest) or min(sizes) < 0:
        raise ValueError("the entry's texts are not the size it gives")
    at = 0
    for name, size in zip(_TEXTS, sizes, strict=True):
        value[name] = rest[at : at + size].decode("utf-8")
        at += size
    return _entry(value)


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
    for folder, suffix in ((settings.templates_dir, ""), (code, ".py")):
        names = [n for n, entry in files_below(folder) if n.endswith(suffix) and entry.is_file()]
        for name in sorted(names, key=lambda name: name.split("/")):
            with open(os.path.join(folder, name), "rb") as file:
                digest.update(name.encode() + b"\0" + file.read() + b"\0")
    return digest.digest()
