"""The last build, recorded: a build whose inputs and output are both as they were does nothing.

A rebuild in which nothing changed is the commonest build of all (CI, a habit, a second look),
and even with every rendering cached it would assemble and compare every file. So after each
build this records a key of everything the output depends on (each issue's cache key, which
covers its file, the templates, the settings and the code; the images; the day, since what is
published depends on the date) and the size, modification time and inode of every output
file. When the key and the files are all the same, the output is still exactly what this
build would write. Anything else (an edited issue, a touched file in `dist/`, `--screenshots`)
goes the whole way.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from sphere.build.cache import CACHE_DIR
from sphere.content.images import original_of
from sphere.output import files_below
from sphere.private import private_folder, write_private
from sphere.settings import Settings

STATE_FILE = CACHE_DIR / "build.json"
Stamp = list[int]  # size, mtime_ns, inode


def build_key(
    context: bytes, issue_keys: Sequence[str], out: Path, drafts: bool, today: dt.date
) -> str:
    """What the whole output depends on (but the images, stamped apart), as one hash: `today`
    too, as it decides which issues the archive holds."""
    digest = hashlib.sha256(context)
    digest.update(f"{out}\0{drafts}\0{today.isoformat()}\0".encode())
    digest.update("\0".join(issue_keys).encode())
    return digest.hexdigest()


def image_stamps(content_dir: Path, images: Iterable[str]) -> dict[str, Stamp]:
    """The size and modification time of each image the build used."""
    stamps: dict[str, Stamp] = {}
    for src in sorted(set(images)):
        with contextlib.suppress(OSError):
            stat = (content_dir / original_of(src)[0]).stat()
            stamps[src] = [stat.st_size, stat.st_mtime_ns]
    return stamps


def output_stamps(out: Path) -> dict[str, Stamp]:
    """Every file of the output folder with its size, modification time and inode."""
    stamps: dict[str, Stamp] = {}
    for name, entry in files_below(out):
        stat = entry.stat()
        stamps[name] = [stat.st_size, stat.st_mtime_ns, stat.st_ino]
    return stamps


def recorded(settings: Settings) -> bool:
    """Whether a build is on record (without one, no build can find nothing to do)."""
    return (settings.root / STATE_FILE).is_file()


def unchanged(settings: Settings, key: str, out: Path) -> tuple[list[str], list[str]] | None:
    """The recorded build's files and warnings, if `key` and `out` are as recorded."""
    try:
        state = json.loads((settings.root / STATE_FILE).read_text(encoding="utf-8"))
        if state.get("key") != key or not isinstance(state.get("stamps"), dict):
            return None
        images = state.get("images", {})
        if image_stamps(settings.content_dir, images) != images:
            return None
        if output_stamps(out) != state["stamps"]:
            return None
        return [str(f) for f in state["files"]], [str(w) for w in state["warnings"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def record(
    settings: Settings,
    key: str,
    out: Path,
    *,
    files: list[str],
    warnings: list[str],
    images: Iterable[str],
) -> None:
    """Remember this build (a failure to is harmless: the next build just goes the whole way)."""
    path = settings.root / STATE_FILE
    state = {
        "key": key,
        "stamps": output_stamps(out),
        "images": image_stamps(settings.content_dir, images),
        "files": files,
        "warnings": warnings,
    }
    with contextlib.suppress(OSError):  # (write_private leaves no temporary file behind)
        private_folder(path.parent)
        write_private(path, json.dumps(state).encode("utf-8"))


def forget(settings: Settings) -> None:
    """Drop the record (before a build that may change the output)."""
    with contextlib.suppress(OSError):
        (settings.root / STATE_FILE).unlink()
