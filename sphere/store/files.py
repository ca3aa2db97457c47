"""Private files written whole or not at all: the one place Sphere writes personal data to disk.

Every file starts life as a temporary file in the folder it will end up in, created with its
final (owner-only) mode by `os.open`, written, fsynced, and only then put in place by a rename
or a link, so a reader sees the old bytes or the new ones and a crash leaves no half-file under
the real name. A temporary file is named `.tmp-<random>`: a crash between creating and placing
it leaves one behind, which `LocalStore.clean` removes once it is old enough.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

TEMPORARY_PREFIX = ".tmp-"


@contextlib.contextmanager
def new_temporary(folder: Path) -> Iterator[Path]:
    """A fresh temporary name in `folder`; whatever is still there under it at the end goes."""
    path = folder / f"{TEMPORARY_PREFIX}{secrets.token_hex(8)}"
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def write_new(path: Path, write: Callable[[BinaryIO], object], *, mode: int = 0o600) -> None:
    """Create `path` (it must not exist) with `mode` from the start, fill it, and fsync it."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    with os.fdopen(descriptor, "wb") as file:
        write(file)
        file.flush()
        os.fsync(file.fileno())


def replace_file(path: Path, write: Callable[[BinaryIO], object], *, mode: int = 0o600) -> None:
    """Write `path` whole or not at all; a failure leaves what was there as it was."""
    with new_temporary(path.parent) as temporary:
        write_new(temporary, write, mode=mode)
        os.replace(temporary, path)
    fsync_folder(path.parent)


def text_writer(write: Callable[[io.TextIOWrapper], object]) -> Callable[[BinaryIO], object]:
    """`write` for `replace_file` that writes UTF-8 text (newlines as given) instead of bytes."""

    def binary(file: BinaryIO) -> object:
        text = io.TextIOWrapper(file, encoding="utf-8", newline="")
        try:
            return write(text)
        finally:
            text.flush()
            text.detach()  # the binary file stays open for the fsync

    return binary


def make_private_folder(folder: Path, *, top: Path) -> None:
    """Create `folder` and any missing folders between it and `top` (included), each 0700.

    `Path.mkdir(parents=True)` would make the parents with the default mode; folders above
    `top` are not ours to decide and get the default.
    """
    if folder.is_dir():
        return
    missing = [folder, *(p for p in folder.parents if p == top or top in p.parents)]
    if not top.parent.is_dir():
        top.parent.mkdir(parents=True, exist_ok=True)
    for path in reversed(missing):
        with contextlib.suppress(FileExistsError):
            os.mkdir(path, 0o700)


def fsync_folder(folder: Path) -> None:
    """Make a rename durable: fsync the folder that holds the new name."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    except OSError as error:  # some file systems cannot fsync a folder
        if error.errno not in (errno.EINVAL, errno.EBADF):
            raise
    finally:
        os.close(descriptor)
