"""Folders a command replaces whole: which ones it may, and the mark that says Sphere made one.

`sphere build` swaps a fresh output folder in for the old one, and a later `deploy` to a local
folder does the same: whatever the old folder held is gone. So a command replaces only a folder
that is missing, empty, or carries the marker file Sphere writes into everything it makes;
anything else is refused before any work is done. Some folders are refused even when marked or
empty, because replacing them would lose the project: its root, `content/`, `templates/`, a
local store, any folder holding one of those, and anything inside `.git`.

This module stands alone (only `errors` and `settings`) so that every command that writes a
folder, and the preview's temporary output, applies the same rule.
"""

from __future__ import annotations

import os
import shutil
import tempfile
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
