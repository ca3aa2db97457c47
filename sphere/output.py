"""Writing an output folder: which folder a command may replace, and writing one cheaply.

`sphere build` swaps a fresh output folder in for the old one, and a later `deploy` to a local
folder does the same: whatever the old folder held is gone. So a command replaces only a folder
that is missing, empty, or carries the marker file Sphere writes into everything it makes;
anything else is refused before any work is done. Some folders are refused even when marked or
empty, because replacing them would lose the project: its root, `content/`, `templates/`, a
local store, any folder holding one of those, and anything inside `.git`. This module stands
on `errors` alone, so that every command that writes a folder, and the preview's temporary
output, applies the same rule.

On many disks creating and filling a file costs far more than linking one (about 0.8 ms
against 0.05 ms on this project's CI machines), and a rebuild changes few files. So `Output`
hard-links a file whose bytes equal the previous build's instead of writing it again. The
previous build is only read, never changed: it stays whole until the new one replaces it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from sphere.errors import OutputFolderError, display_path

if TYPE_CHECKING:
    from sphere.settings import Settings

MARKER = ".sphere-output"
MARKER_TEXT = (
    "This folder was made by Sphere, which replaces it whole on the next run.\n"
    "Keep nothing of your own in it.\n"
)


def check_replaceable(folder: Path, settings: Settings, *, option: str = "--out") -> None:
    """Raise OutputFolderError unless Sphere may replace `folder` (see the module docstring).

    `option` names how the user chooses another folder, for the message.
    """
    folder = folder.resolve()
    shown = display_path(folder)
    if ".git" in folder.parts:
        raise OutputFolderError(
            f"refusing to write into {shown}: it is inside a .git folder; choose another {option}"
        )
    for protected, what in _protected(settings):
        if folder == protected or protected.is_relative_to(folder):
            verb = "is" if folder == protected else "holds"
            raise OutputFolderError(
                f"refusing to replace {shown}: it {verb} {what}; choose another {option}"
            )
    if (folder / ".git").exists():
        raise OutputFolderError(
            f"refusing to replace {shown}: it holds a .git folder; choose another {option}"
        )
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise OutputFolderError(f"{shown} exists and is not a folder; choose another {option}")
    if folder.is_dir() and not is_sphere_made(folder):
        raise OutputFolderError(
            f"refusing to replace {shown}: it holds files Sphere did not make;"
            f" move them away or choose another {option}"
        )


def is_sphere_made(folder: Path) -> bool:
    """True for a folder that carries Sphere's marker, or is empty."""
    if (folder / MARKER).is_file():
        return True
    try:
        with os.scandir(folder) as entries:
            return next(entries, None) is None
    except OSError:
        return False


def mark(folder: Path) -> None:
    """Write the marker into `folder`, a folder this run made."""
    (folder / MARKER).write_text(MARKER_TEXT, encoding="utf-8")


def make_temporary(prefix: str) -> Path:
    """A new private folder in the system's temporary folder, marked as Sphere's."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    mark(folder)
    return folder


def remove(folder: Path) -> None:
    """Delete a folder Sphere made (marked or empty); leave anything else alone."""
    if folder.is_dir() and not folder.is_symlink() and is_sphere_made(folder):
        shutil.rmtree(folder, ignore_errors=True)


def _protected(settings: Settings) -> list[tuple[Path, str]]:
    folders = [
        (settings.root, "the project folder"),
        (settings.content_dir, "the content folder"),
        (settings.templates_dir, "the templates folder"),
    ]
    if "://" not in settings.store:  # a local store: its folder, relative to the project
        folders.append(((settings.root / settings.store).resolve(), "the subscriber store"))
    return [(path.resolve(), what) for path, what in folders]


class Output:
    """A folder under construction; `previous` is the same folder from the last build.

    With `defer`, a file identical to the previous build's is neither written nor linked but
    listed in `same`, for `link_same` to link later if the build turns out to change anything
    (creating a folder or a file costs up to a millisecond on some disks; a rebuild in which
    nothing changed then creates nothing at all).
    """

    def __init__(self, root: Path, previous: Path | None = None, *, defer: bool = False):
        self.root = root
        self.previous = previous if previous is not None and previous.is_dir() else None
        self.defer = defer
        self.files: list[Path] = []  # every file of the output, written or not (yet)
        self.same: list[str] = []  # identical to the previous build's, not linked yet
        self.linked = 0
        self._folders: set[Path] = set()  # made already: mkdir is a slow system call here too

    def write(self, relative: str, data: bytes) -> Path:
        """Write `data` to `root/relative`, or link the previous build's identical file."""
        path = self.root / relative
        old = self._previous(relative)
        same = old is not None and old.stat().st_size == len(data) and old.read_bytes() == data
        self.files.append(path)
        if same and self.defer:
            self.same.append(relative)
        elif not (same and self._link(relative)):
            self._place(relative).write_bytes(data)
        return path

    def write_text(self, relative: str, text: str) -> Path:
        return self.write(relative, text.encode("utf-8"))

    def copy(self, relative: str, source: Path) -> Path:
        """Copy a file (an image, a stylesheet) into the output."""
        path = self.root / relative
        old = self._previous(relative)
        same = old is not None and _same_file_content(old, source)
        self.files.append(path)
        if same and self.defer:
            self.same.append(relative)
        elif not (same and self._link(relative)):
            shutil.copyfile(source, self._place(relative))
        return path

    def link_same(self, relatives: list[str] | None = None) -> None:
        """Link the deferred identical files (or `relatives`) from the previous build."""
        if self.previous is None:
            return
        for relative in self.same if relatives is None else relatives:
            if not self._link(relative):
                shutil.copyfile(self.previous / relative, self.root / relative)
        self.same = []

    def _place(self, relative: str) -> Path:
        path = self.root / relative
        if path.parent not in self._folders:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._folders.add(path.parent)
        return path

    def _previous(self, relative: str) -> Path | None:
        if self.previous is None:
            return None
        old = self.previous / relative
        return old if old.is_file() and not old.is_symlink() else None

    def _link(self, relative: str) -> bool:
        assert self.previous is not None  # noqa: S101 (only called for a file it has)
        try:
            os.link(self.previous / relative, self._place(relative))
        except OSError:  # a file system without hard links: copy instead
            return False
        self.linked += 1
        return True


def files_below(folder: Path | str, prefix: str = "") -> Iterator[tuple[str, os.DirEntry[str]]]:
    """Everything under `folder` but folders, as (POSIX path relative to it, its entry); linked
    folders are not entered (a loop, or files from elsewhere), and a missing folder has none.

    The build walks its output and the theme with it before and after every build: strings and
    os.scandir's entries, since a thousand Path objects cost more than the walk itself.
    """
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            yield from files_below(entry.path, f"{prefix}{entry.name}/")
        else:
            yield prefix + entry.name, entry


def _same_file_content(a: Path, b: Path) -> bool:
    return a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()
