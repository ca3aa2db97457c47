"""Where the archive is deployed (SPHERE_SITE): a local folder, or `s3://bucket/prefix`.

Each target answers with one inventory of what is there (a folder walk, or S3 listings of a
thousand keys each: never one request per file), and writes a file with its content type and
cache rule. The S3 target counts its requests, for `--dry-run` and benchmarks/publish.py.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

from sphere.errors import DeployError, SiteUnavailable
from sphere.site.files import SiteFile

UPLOAD_WORKERS = 8  # S3 round trips overlap; a folder gains nothing from more


class SiteTarget(Protocol):
    """What a deploy needs of the place the archive is served from."""

    url: str
    requests: int  # made so far (S3); 0 for a folder

    def inventory(self) -> dict[str, str]:
        """Every key there (the manifest included) and the MD5 hex of its bytes."""
        ...

    def read(self, key: str) -> bytes | None:
        """The bytes at `key`, or None."""
        ...

    def write(self, key: str, data: bytes, *, content_type: str, cache_control: str) -> None:
        """Put `data` at `key`, whole or not at all."""
        ...

    def upload(self, files: Iterable[SiteFile]) -> None:
        """Write each file with its content type and cache rule."""
        ...

    def remove(self, key: str) -> None:
        """Remove `key` (a missing key is not an error)."""
        ...


def open_site(url: str, *, root: Path) -> SiteTarget:
    """The target SPHERE_SITE names: s3://bucket/prefix, or a folder (relative to `root`)."""
    if url.startswith("s3://"):
        bucket, _, prefix = url[len("s3://") :].partition("/")
        if not bucket:
            raise DeployError(f"SPHERE_SITE={url!r}: expected s3://BUCKET/PREFIX or a folder")
        return S3Site(bucket, prefix)
    if "://" in url or not url:
        raise DeployError(f"SPHERE_SITE={url!r}: expected s3://BUCKET/PREFIX or a folder")
    return FolderSite(root / url)


class FolderSite:
    """A folder a web server serves; files are replaced by rename, never half-written."""

    requests = 0

    def __init__(self, root: Path):
        self.root = root.resolve()
        self.url = str(self.root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root):
            raise DeployError(f"{key!r} would land outside {self.root}")
        return path

    def inventory(self) -> dict[str, str]:
        """Every file under the folder (hidden ones too: the manifest) with its MD5."""
        found: dict[str, str] = {}
        for top, _subfolders, names in os.walk(self.root):
            for name in names:
                path = Path(top) / name
                if path.is_file() and not path.is_symlink() and not name.startswith(".tmp-"):
                    digest = hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()
                    found[path.relative_to(self.root).as_posix()] = digest
        return found

    def read(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise SiteUnavailable(f"cannot read {self.root / key}: {error.strerror}") from None

    def write(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str,  # noqa: ARG002 (SiteTarget's keyword; a folder keeps no types)
        cache_control: str,  # noqa: ARG002 (SiteTarget's keyword)
    ) -> None:
        """Write by rename (a folder keeps no types: the web server derives them)."""
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(f".tmp-{secrets.token_hex(6)}")
            temporary.write_bytes(data)
            os.replace(temporary, path)
        except OSError as error:
            raise SiteUnavailable(f"cannot write {path}: {error.strerror}") from None

    def upload(self, files: Iterable[SiteFile]) -> None:
        for file in files:
            self.write(
                file.key, file.read(), content_type=file.content_type,
                cache_control=file.cache_control,
            )  # fmt: skip

    def remove(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink(missing_ok=True)
            for parent in path.parents:  # folders the removal emptied
                if parent == self.root or any(parent.iterdir()):
                    break
                parent.rmdir()
        except OSError as error:
            raise SiteUnavailable(f"cannot remove {path}: {error.strerror}") from None


class S3Site:
    """`s3://bucket/prefix`: a website bucket, or a private bucket behind a CDN."""

    def __init__(self, bucket: str, prefix: str = "", *, client: Any = None):
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.url = f"s3://{bucket}/{self.prefix}"
        self.requests = 0
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            from sphere.store import aws

            self._client = aws.client("s3", max_pool_connections=UPLOAD_WORKERS * 2)
            self._client.meta.events.register("before-send.s3", self._count)
        return self._client

    def _count(self, **_: Any) -> None:
        self.requests += 1

    def inventory(self) -> dict[str, str]:
        """Every key under the prefix with its ETag (an MD5 hex for single-part uploads)."""
        found: dict[str, str] = {}
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix
            )
            for page in pages:
                for item in page.get("Contents", ()):
                    found[item["Key"][len(self.prefix) :]] = item["ETag"].strip('"')
        except Exception as error:  # noqa: BLE001 (sorted by `_fail`, which re-raises others)
            raise self._fail(error, "list") from None
        return found

    def read(self, key: str) -> bytes | None:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.prefix + key)
            return bytes(response["Body"].read())
        except Exception as error:  # noqa: BLE001 (sorted by `_fail`, which re-raises others)
            if _code(error) in ("NoSuchKey", "404"):
                return None
            raise self._fail(error, f"read {key} from") from None

    def write(self, key: str, data: bytes, *, content_type: str, cache_control: str) -> None:
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=self.prefix + key,
                Body=data,
                ContentType=content_type,
                CacheControl=cache_control,
            )
        except Exception as error:  # noqa: BLE001 (sorted by `_fail`, which re-raises others)
            raise self._fail(error, f"upload {key} to") from None

    def upload(self, files: Iterable[SiteFile]) -> None:
        """Upload a few at a time; the first failure stops the rest (the next run resumes)."""

        def one(file: SiteFile) -> None:
            self.write(
                file.key, file.read(), content_type=file.content_type,
                cache_control=file.cache_control,
            )  # fmt: skip

        files = list(files)
        if not files:
            return
        self.client  # noqa: B018 (made once, before the threads share it)
        with ThreadPoolExecutor(UPLOAD_WORKERS) as pool:
            for _ in pool.map(one, files):
                pass

    def remove(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.prefix + key)
        except Exception as error:  # noqa: BLE001 (sorted by `_fail`, which re-raises others)
            raise self._fail(error, f"remove {key} from") from None

    def _fail(self, error: Exception, doing: str) -> DeployError:
        """Sphere's error for a failed request, from its response code (no botocore here)."""
        response = getattr(error, "response", None)
        if not isinstance(response, dict):
            if type(error).__module__.startswith(("botocore", "urllib3")):
                return SiteUnavailable(f"cannot reach S3 for SPHERE_SITE={self.url}: {error}")
            raise error
        code = _code(error)
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code == "NoSuchBucket":
            return SiteUnavailable(
                f"the S3 bucket {self.bucket!r} does not exist; check SPHERE_SITE={self.url}"
            )
        if code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch") or status == 403:
            return SiteUnavailable(
                f"access denied to SPHERE_SITE={self.url} ({code or status}); the role needs "
                "s3:ListBucket, GetObject, PutObject and DeleteObject there (docs/aws.md)"
            )
        return DeployError(f"cannot {doing} {self.url}: {code or status}")


def _code(error: Exception) -> str:
    response = getattr(error, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""
