"""The blob store in S3, `s3://bucket/prefix` (see `sphere.store.blobs` for the contract).

S3's own conditional writes (`IfMatch`, `IfNoneMatch`), server-side encryption on every put,
paginated listing. botocore's errors become Sphere's here, and nowhere else.

A write can land while its reply is lost: botocore then sends it again, and a conditional
retry meets the first attempt's object and fails (412). So every put carries a random write
id in its metadata, and a put that fails on its condition, or ends without a reply, asks S3
what the key holds before it answers: its own write id there is a success; another writer's
is a lost race (PreconditionFailed); no answer at all is WriteUncertain, never a guess.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING

from sphere.errors import PreconditionFailed, StoreError, StoreUnavailable, WriteUncertain
from sphere.store.blobs import Blob, check_key

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_DENIED = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled"}
_LOST_RACE = {"PreconditionFailed", "ConditionalRequestConflict"}
WRITE_ID = "sphere-write"  # user metadata: which put wrote the object (x-amz-meta-sphere-write)

log = logging.getLogger(__name__)


class S3Store:
    """`s3://bucket/prefix`: SSE on every put, S3 conditional writes, paginated listing."""

    def __init__(self, bucket: str, prefix: str = "", *, client: S3Client | None = None):
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.url = f"s3://{bucket}/{self.prefix}"
        self.page_size = 1000  # S3's own maximum; tests lower it to see several pages
        self._client = client

    @property
    def client(self) -> S3Client:
        """The boto3 S3 client (made on first use: boto3 takes a while to import)."""
        if self._client is None:
            from sphere.store import aws

            self._client = aws.s3_client()
        return self._client

    def _fail(self, error: Exception, operation: str, key: str) -> StoreError:
        """Sphere's error for one of `_aws_errors()`."""
        from botocore.exceptions import ClientError

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
                    f"access denied to the S3 bucket {self.bucket!r} ({code or status}): either "
                    f"the credentials lack s3:GetObject, PutObject, DeleteObject or ListBucket "
                    f"on {self.url}, or the bucket policy refuses the request (the one in "
                    f"docs/aws.md refuses plain HTTP and unencrypted writes)"
                )
            return StoreError(f"S3 {operation} of {self.url}{key} failed: {code}: {error}")
        return StoreUnavailable(f"cannot reach S3 for {self.url}: {error}")  # a BotoCoreError

    def get(self, key: str) -> Blob | None:
        """The object at `key`, or None."""
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.prefix + check_key(key))
            return Blob(response["Body"].read(), response["ETag"])
        except _aws_errors() as error:
            if _code(error) in ("NoSuchKey", "404"):
                return None
            raise self._fail(error, "get", key) from None

    def put(
        self, key: str, data: bytes, *, if_match: str | None = None, if_none_match: bool = False
    ) -> str:
        """Write with SSE-S3; `IfMatch` / `IfNoneMatch` make S3 itself check the condition.

        A failed condition or a lost reply is checked against the object's write id before it
        is believed (see the module docstring).
        """
        options: dict[str, str] = {}
        if if_match is not None:
            options["IfMatch"] = if_match
        if if_none_match:
            options["IfNoneMatch"] = "*"
        write = secrets.token_hex(12)
        try:
            response = self.client.put_object(
                Bucket=self.bucket,
                Key=self.prefix + check_key(key),
                Body=data,
                ServerSideEncryption="AES256",
                Metadata={WRITE_ID: write},
                **options,  # type: ignore[arg-type]
            )
        except _aws_errors() as error:
            lost_race = _lost_race(error) or (if_match is not None and _missing(error))
            if not lost_race and not _ambiguous(error):
                raise self._fail(error, "put", key) from None
            if (etag := self._landed(key, write, error)) is not None:
                log.info("%s%s: the reply was lost, but the write landed", self.url, key)
                return etag
            if not lost_race:
                raise WriteUncertain(
                    f"S3 put of {self.url}{key} got no answer and its object is not there yet "
                    f"({_describe(error)}): it may still land; nothing was undone, run the "
                    "command again"
                ) from None
            raise PreconditionFailed(f"{key} changed in {self.url}") from None
        return str(response["ETag"])

    def _landed(self, key: str, write: str, cause: Exception) -> str | None:
        """The object's etag if `key` holds the put with write id `write`, else None."""
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self.prefix + key)
        except _aws_errors() as error:
            if _missing(error):
                return None
            raise WriteUncertain(
                f"S3 put of {self.url}{key} failed ({_describe(cause)}) and S3 could not be "
                f"asked whether it landed ({_describe(error)}); nothing was undone, run the "
                "command again"
            ) from None
        if head.get("Metadata", {}).get(WRITE_ID) != write:
            return None
        return str(head["ETag"])

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
        except _aws_errors() as error:
            raise self._fail(error, "list", prefix) from None
        return sorted(keys)

    def delete(self, key: str) -> None:
        """Remove `key`."""
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.prefix + check_key(key))
        except _aws_errors() as error:
            raise self._fail(error, "delete", key) from None

    def exposure(self) -> str | None:
        """None: who may read a bucket is its IAM policy's business (docs/subscribers.md)."""
        return None

    def sweep(self, *, older_than: float, matching: Callable[[bytes], bool] | None = None) -> int:
        """Nothing to do: an S3 put is whole or absent, it leaves nothing behind."""
        del older_than, matching
        return 0


def _aws_errors() -> tuple[type[Exception], ...]:
    """botocore's errors, imported only once one is being caught (an `except` clause's
    expression is evaluated only then): importing this module stays cheap."""
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError)


def _lost_race(error: Exception) -> bool:
    """S3 refused the write on its condition (which a retry of our own landed write meets too)."""
    return _code(error) in _LOST_RACE or _status(error) == 412


def _missing(error: Exception) -> bool:
    return _code(error) in ("NoSuchKey", "404", "NotFound")


def _ambiguous(error: Exception) -> bool:
    """An error after which the request may or may not have been applied: no reply at all
    (connection dropped, read timed out, retries spent) or a server error (S3 documents that
    a 500 or 503 may still have succeeded)."""
    from botocore.exceptions import ClientError

    if not isinstance(error, ClientError):
        return True
    return _status(error) >= 500


def _status(error: Exception) -> int:
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return 0
    return int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


def _describe(error: Exception) -> str:
    code = _code(error)
    return f"{code} ({_status(error)})" if code else type(error).__name__


def _code(error: Exception) -> str:
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return ""
    return str(response.get("Error", {}).get("Code", ""))
