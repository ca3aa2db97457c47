"""A small blob store: get, conditional put, list by prefix, delete.

Two implementations share one contract (tests/test_store.py runs against both):

- `LocalStore`, a folder: every write goes to a temporary file that is fsynced and renamed into
  place, so a reader sees the old bytes or the new ones, never half. `if_none_match` creates
  with `link()`, which fails if the name exists, so two creators cannot both win.
  `if_match` compares and replaces under an advisory lock (`flock`) that every other mutation
  takes too.
- `S3Store`, `s3://bucket/prefix`: S3's own conditional writes (`IfMatch`, `IfNoneMatch`),
  server-side encryption on every put, paginated listing.

Etags are opaque strings: compare them, never parse them.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import logging
import os
import secrets
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sphere.errors import PreconditionFailed, StoreError, StoreUnavailable

if TYPE_CHECKING:
    from sphere.settings import Settings

log = logging.getLogger(__name__)


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
        return S3Store(bucket, prefix)
    if "://" in url:
        raise StoreError(f"SPHERE_STORE={url!r}: expected a folder or s3://BUCKET/PREFIX")
    return LocalStore(base / url)


def _check_key(key: str) -> str:
    parts = key.split("/")
    if not key or any(not part or part.startswith(".") for part in parts):
        raise StoreError(f"invalid store key {key!r}")
    return key


# --- a local folder ------------------------------------------------------------------------------


def _etag(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


class LocalStore:
    """A folder: atomic writes by rename, exclusive creates by link, compare-and-swap by flock."""

    def __init__(self, root: Path):
        self.root = root.resolve()
        self.url = str(self.root)

    def _path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def _unavailable(self, error: OSError) -> StoreUnavailable:
        return StoreUnavailable(
            f"cannot use the store folder {self.root}: {error.strerror or error}; "
            "check SPHERE_STORE and the folder's permissions"
        )

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self.root / ".lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

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
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.parent / f".tmp-{secrets.token_hex(8)}"
            with open(temporary, "xb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            try:
                self._place(key, path, temporary, if_match=if_match, if_none_match=if_none_match)
            finally:
                temporary.unlink(missing_ok=True)
            _fsync_folder(path.parent)
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


def _raise(error: OSError) -> None:
    raise error


def _fsync_folder(folder: Path) -> None:
    """Make a rename durable: fsync the folder that holds the new name."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    except OSError as error:  # some file systems cannot fsync a folder
        if error.errno not in (errno.EINVAL, errno.EBADF):
            raise
    finally:
        os.close(descriptor)


# --- S3 ----------------------------------------------------------------------------------------

_DENIED = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled"}
_LOST_RACE = {"PreconditionFailed", "ConditionalRequestConflict"}


class S3Store:
    """`s3://bucket/prefix`: SSE on every put, S3 conditional writes, paginated listing."""

    def __init__(self, bucket: str, prefix: str = "", *, client: Any = None):
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.url = f"s3://{bucket}/{self.prefix}"
        self.page_size = 1000  # S3's own maximum; tests lower it to see several pages
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            from sphere.store import aws

            self._client = aws.client("s3")
        return self._client

    def _fail(self, error: Exception, operation: str, key: str) -> StoreError:
        from botocore.exceptions import BotoCoreError, ClientError

        if isinstance(error, ClientError):
            code = str(error.response.get("Error", {}).get("Code", ""))
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in _LOST_RACE or status == 412:
                return PreconditionFailed(f"{key} changed in {self.url}")
            if code == "NoSuchBucket":
                return StoreUnavailable(
                    f"the S3 bucket {self.bucket!r} does not exist; check SPHERE_STORE={self.url}"
                )
            if code in _DENIED or status == 403:
                return StoreUnavailable(
                    f"access denied to the S3 bucket {self.bucket!r} ({code or status}); the "
                    f"credentials need s3:GetObject, PutObject, DeleteObject and ListBucket "
                    f"on {self.url} (see docs/subscribers.md)"
                )
            return StoreError(f"S3 {operation} of {self.url}{key} failed: {code}: {error}")
        if isinstance(error, BotoCoreError):
            return StoreUnavailable(f"cannot reach S3 for {self.url}: {error}")
        raise error

    def get(self, key: str) -> Blob | None:
        """The object at `key`, or None."""
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.prefix + _check_key(key))
            return Blob(response["Body"].read(), response["ETag"])
        except Exception as error:
            if _code(error) in ("NoSuchKey", "404"):
                return None
            raise self._fail(error, "get", key) from None

    def put(
        self, key: str, data: bytes, *, if_match: str | None = None, if_none_match: bool = False
    ) -> str:
        """Write with SSE-S3; `IfMatch` / `IfNoneMatch` make S3 itself check the condition."""
        options: dict[str, str] = {}
        if if_match is not None:
            options["IfMatch"] = if_match
        if if_none_match:
            options["IfNoneMatch"] = "*"
        try:
            response = self.client.put_object(
                Bucket=self.bucket,
                Key=self.prefix + _check_key(key),
                Body=data,
                ServerSideEncryption="AES256",
                **options,
            )
        except Exception as error:
            if if_match is not None and _code(error) in ("NoSuchKey", "404"):
                raise PreconditionFailed(f"{key} no longer exists in {self.url}") from None
            raise self._fail(error, "put", key) from None
        return str(response["ETag"])

    def list(self, prefix: str = "") -> list[str]:
        """Every key under `prefix`, page by page."""
        keys: list[str] = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket,
                Prefix=self.prefix + prefix,
                PaginationConfig={"PageSize": self.page_size},
            )
            for page in pages:
                keys.extend(item["Key"][len(self.prefix) :] for item in page.get("Contents", ()))
        except Exception as error:
            raise self._fail(error, "list", prefix) from None
        return sorted(keys)

    def delete(self, key: str) -> None:
        """Remove `key`."""
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.prefix + _check_key(key))
        except Exception as error:
            raise self._fail(error, "delete", key) from None


def _code(error: Exception) -> str:
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return ""
    return str(response.get("Error", {}).get("Code", ""))
