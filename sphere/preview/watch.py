"""Which files changed: the preview's watcher compares signatures (mtime, size) between scans.

Polling with `os.stat` needs no dependency and no OS-specific notify API; `Workspace.poll()`
calls `scan` every few tens of milliseconds and decides what a change invalidates. Editors'
swap, lock and backup files are skipped, so an editor's own files are not
changes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

Signature = tuple[int, int]  # a file's (mtime_ns, size)


def scan(paths: Iterable[Path]) -> dict[Path, Signature]:
    """Every file at or below `paths` with its (mtime_ns, size); hidden and backup files skipped."""
    found: dict[Path, Signature] = {}
    for path in _files(paths):
        try:
            stat = path.stat()
        except OSError:
            continue  # removed between listing and stat
        found[path] = (stat.st_mtime_ns, stat.st_size)
    return found


def _files(paths: Iterable[Path]) -> Iterator[Path]:
    for top in paths:
        if not top.is_dir():
            yield top
            continue
        for folder, dirs, files in os.walk(top):
            dirs[:] = [name for name in dirs if not name.startswith(".")]
            for name in files:
                if not name.startswith((".", "#")) and not name.endswith("~"):
                    yield Path(folder, name)  # (skipped: editors' swap, lock and backup files)
