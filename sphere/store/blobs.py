"""A small blob store: get, conditional put, list by prefix, delete.

Two implementations share one contract (tests/test_store.py runs against both):

- `LocalStore` (`sphere.store.local`), a folder, owner-only, written atomically;
- `S3Store` (`sphere.store.s3`), `s3://bucket/prefix`: S3's own conditional writes.

Etags are opaque strings: compare them, never parse them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from sphere.errors import DamagedObject, StoreError

if TYPE_CHECKING:
    from sphere.settings import Settings

log = logging.getLogger(__name__)
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Blob:
    """An object's bytes and the etag to pass back as `if_match`."""

    data: bytes
    etag: str


class BlobStore(Protocol):
    """What the rest of Sphere needs from a store; keys are `/`-separated relative names."""

    url: str  # where it is, for messages: a folder or s3://bucket/prefix

    def get(self, key: str) -> Blob | None:
        """The object at `key`, or None when there is none."""
        ...

    def put(
        self, key: str, data: bytes, *, if_match: str | None = None, if_none_match: bool = False
    ) -> str:
        """Write `data` at `key` and return its etag.

        `if_match`: only if the object's etag is still this one; `if_none_match`: only if there
        is no object yet. Either raises PreconditionFailed when it does not hold.
        """
        ...

    def list(self, prefix: str = "") -> list[str]:
        """Every key starting with `prefix`, sorted."""
        ...

    def delete(self, key: str) -> None:
        """Remove `key`; removing a missing key is not an error."""
        ...

    def exposure(self) -> str | None:
        """Why people other than its owner could read the store, or None when they cannot."""
        ...

    def sweep(self, *, older_than: float, matching: Callable[[bytes], bool] | None = None) -> int:
        """Remove what interrupted writes left behind (a folder's temporary files).

        Only leftovers at least `older_than` seconds old go (a younger one may belong to a
        write still running); with `matching`, only those whose bytes it accepts. Returns how
        many matching leftovers were too young to remove.
        """
        ...


def get_many(store: BlobStore, keys: Iterable[str], *, workers: int = 8) -> Iterator[Blob | None]:
    """`store.get` for each key, in order, fetched a few at a time (S3 round trips add up)."""
    keys = list(keys)
    if len(keys) < 4:
        yield from (store.get(key) for key in keys)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(store.get, keys)


def open_store(where: Settings | str, *, root: Path | None = None) -> BlobStore:
    """The store named by SPHERE_STORE (settings) or by a URL or folder (relative to `root`)."""
    if isinstance(where, str):
        url, base = where, root or Path.cwd()
    else:
        url, base = where.store, where.root
    if url.startswith("s3://"):
        bucket, _, prefix = url[len("s3://") :].partition("/")
        if not bucket:
            raise StoreError(f"SPHERE_STORE={url!r}: expected s3://BUCKET/PREFIX")
        from sphere.store.s3 import S3Store

        return S3Store(bucket, prefix)
    if "://" in url:
        raise StoreError(f"SPHERE_STORE={url!r}: expected a folder or s3://BUCKET/PREFIX")
    from sphere.store.local import LocalStore, refuse_if_committable

    if not isinstance(where, str):
        refuse_if_committable(base / url, url)
    return LocalStore(base / url)


def check_key(key: str) -> str:
    """`key` if it is a valid key (relative, no empty or dot-led part), else StoreError."""
    parts = key.split("/")
    if not key or any(not part or part.startswith(".") for part in parts):
        raise StoreError(f"invalid store key {key!r}")
    return key


def parsed(store: BlobStore, key: str, parse: Callable[[], _T]) -> _T:
    """`parse()` of the object at `key`, or DamagedObject naming it when its bytes are not
    what Sphere writes (truncated, not UTF-8, not JSON, a field missing or of the wrong type).

    Every reader of a stored object goes through here, so a damaged object stops the command
    with one line that names it, and nothing acts on what could not be read.
    """
    try:
        return parse()
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as error:
        raise DamagedObject(store.url, key, _reason(error)) from None


def _reason(error: Exception) -> str:
    if isinstance(error, UnicodeDecodeError):
        return f"not UTF-8 at byte {error.start}"
    if isinstance(error, json.JSONDecodeError):
        return f"not JSON: {error.msg} at byte {error.pos}"
    if isinstance(error, KeyError):
        return f"the field {error} is missing"
    if isinstance(error, ValueError) and str(error):
        return str(error)
    return f"a field has the wrong type ({error})" if str(error) else "not what Sphere writes"
