"""Owner-only files and folders, for what Sphere keeps on this machine that names people.

The outbox's `.eml` files hold addresses and working unsubscribe links; the build cache holds
rendered issues not yet public. Files are created 0600 from the start (by `os.open`'s mode,
never by a chmod once the bytes are there), in folders made 0700; a folder of ours found open
to others (made by an older Sphere) is closed again. As the local store already does.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path
from typing import BinaryIO

FILE_MODE = 0o600
FOLDER_MODE = 0o700


def private_folder(folder: Path) -> None:
    """Make `folder` (and any missing parent) owner-only; close it if it is open to others."""
    missing = [folder, *(p for p in folder.parents)]
    for path in reversed(missing):
        if not path.exists():
            with contextlib.suppress(FileExistsError):
                os.mkdir(path, FOLDER_MODE)
    mode = stat.S_IMODE(folder.stat().st_mode)
    if mode & 0o077:
        os.chmod(folder, mode & ~0o077)


def create_private(path: Path, *, buffering: int = -1) -> BinaryIO:
    """A new file (it must not exist) open for writing, owner-only from the start."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | getattr(os, "O_BINARY", 0)
    return os.fdopen(os.open(path, flags, FILE_MODE), "wb", buffering=buffering)


def write_private(path: Path, data: bytes) -> None:
    """Write `path` whole (a temporary file renamed into place), owner-only."""
    temporary = path.with_name(f".{path.name}.tmp-{secrets.token_hex(4)}")
    try:
        with create_private(temporary) as file:
            file.write(data)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


__all__ = ["FILE_MODE", "FOLDER_MODE", "create_private", "private_folder", "write_private"]
