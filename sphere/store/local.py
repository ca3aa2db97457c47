"""The blob store in a local folder (see `sphere.store.blobs` for the contract).

Every write goes to a temporary file that is fsynced and renamed into place (`files`), so a
reader sees the old bytes or the new ones, never half. `if_none_match` creates with `link()`,
which fails if the name exists, so two creators cannot both win. `if_match` compares and
replaces under an advisory lock (`flock`) that every other mutation takes too.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import stat
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from sphere.errors import PreconditionFailed, StoreError, StoreUnavailable
from sphere.store.blobs import Blob, check_key
from sphere.store.files import (
    TEMPORARY_PREFIX,
    fsync_folder,
    make_private_folder,
    new_temporary,
    write_new,
)

log = logging.getLogger(__name__)


def _etag(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


class LocalStore:
    """A folder: atomic writes by rename, exclusive creates by link, compare-and-swap by flock.

    It holds personal data, so it is owner-only from the start: folders are created 0700 and
    files 0600 (by `os.open`'s mode, never by a chmod after the bytes are there).
    """

    def __init__(self, root: Path):
        self.root = root.resolve()
        self.url = str(self.root)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _unavailable(self, error: OSError) -> StoreUnavailable:
        return StoreUnavailable(
            f"cannot use the store folder {self.root}: {error.strerror or error}; "
            "check SPHERE_STORE and the folder's permissions"
        )

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        descriptor = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)  # closing releases the lock

    def get(self, key: str) -> Blob | None:
        """The object at `key`, or None."""
        try:
            data = self._path(key).read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None
        except OSError as error:
            raise self._unavailable(error) from None
        return Blob(data, _etag(data))

    def put(
        self, key: str, data: bytes, *, if_match: str | None = None, if_none_match: bool = False
    ) -> str:
        """Write atomically; see `BlobStore.put` for the conditions."""
        path = self._path(key)
        try:
            make_private_folder(path.parent, top=self.root)
            with new_temporary(path.parent) as temporary:
                write_new(temporary, lambda file: file.write(data))
                self._place(key, path, temporary, if_match=if_match, if_none_match=if_none_match)
            fsync_folder(path.parent)
        except OSError as error:
            raise self._unavailable(error) from None
        return _etag(data)

    def _place(
        self, key: str, path: Path, temporary: Path, *, if_match: str | None, if_none_match: bool
    ) -> None:
        if if_none_match:
            try:
                os.link(temporary, path)  # fails if `path` exists: an exclusive create
            except FileExistsError:
                raise PreconditionFailed(f"{key} already exists in {self.url}") from None
            return
        with self._locked():
            if if_match is not None:
                current = self.get(key)
                if current is None or current.etag != if_match:
                    raise PreconditionFailed(f"{key} changed in {self.url}")
            os.replace(temporary, path)

    def list(self, prefix: str = "") -> list[str]:
        """Every key under `prefix`, sorted; temporary and lock files are not keys."""
        folder = self.root / prefix.rpartition("/")[0]
        keys: list[str] = []
        try:
            for directory, subfolders, names in os.walk(folder, onerror=_raise):
                subfolders[:] = [name for name in subfolders if not name.startswith(".")]
                relative = Path(directory).relative_to(self.root).as_posix()
                base = "" if relative == "." else relative + "/"
                keys.extend(base + name for name in names if not name.startswith("."))
        except FileNotFoundError:
            return []
        except OSError as error:
            raise self._unavailable(error) from None
        return sorted(key for key in keys if key.startswith(prefix))

    def delete(self, key: str) -> None:
        """Remove `key` (under the lock, so no compare-and-swap sees it half-way)."""
        path = self._path(key)
        try:
            with self._locked():
                path.unlink(missing_ok=True)
        except FileNotFoundError:
            return
        except OSError as error:
            raise self._unavailable(error) from None

    def exposure(self) -> str | None:
        """Say so when the store folder lets others in (what is inside is then theirs too)."""
        try:
            status = self.root.stat()
        except OSError:
            return None  # not made yet: it will be made owner-only
        mode = stat.S_IMODE(status.st_mode)
        if not stat.S_ISDIR(status.st_mode) or mode & 0o077 == 0:
            return None
        return (
            f"the store folder {self.root} can be read by others (mode {mode:04o}) and holds "
            f"personal data; make it owner-only: chmod -R go-rwx {self.root}"
        )

    def sweep(self, *, older_than: float, matching: Callable[[bytes], bool] | None = None) -> int:
        """Remove `.tmp-*` files left by killed writers; see `BlobStore.sweep`."""
        young, now = 0, time.time()  # the file system's clock: it stamps the files' mtimes
        for directory, _subfolders, names in os.walk(self.root):
            for name in names:
                if not name.startswith(TEMPORARY_PREFIX):
                    continue
                path = Path(directory) / name
                try:
                    if matching is not None and not matching(path.read_bytes()):
                        continue
                    if now - path.stat().st_mtime < older_than:
                        young += 1
                    else:
                        path.unlink()
                        log.info("removed %s, left by an interrupted write", path)
                except FileNotFoundError:
                    continue  # its write finished meanwhile
        return young


def refuse_if_committable(folder: Path, setting: str) -> None:
    """Refuse a store folder inside a git work tree that git does not ignore.

    Its files would show up in `git status` and could be committed: personal data in the
    repository's history for good. The default, `.sphere/store`, is ignored by .gitignore.
    """
    folder = folder.absolute()
    top = next((p for p in (folder, *folder.parents) if (p / ".git").exists()), None)
    if top is None:
        return
    try:
        found = subprocess.run(  # noqa: S603 - fixed arguments, no shell
            ["git", "-C", str(top), "check-ignore", "-q", "--", f"{folder}/"],  # noqa: S607
            capture_output=True,
            check=False,
        )
    except OSError:  # no git on this machine: nothing can be committed by it either
        return
    if found.returncode == 1:
        raise StoreError(
            f"SPHERE_STORE={setting!r}: the store folder {folder} is inside the git repository "
            f"{top} and not ignored, so subscribers' data could be committed; add it to "
            ".gitignore or choose a folder outside the repository"
        )


def _raise(error: OSError) -> None:
    raise error
