"""The one place boto3 clients are made.

boto3 is imported here, inside `client`, and nowhere at module level: `sphere --help` must not
pay for it. Credentials, region and endpoint come from boto3's standard chain, so a local
stand-in (moto) needs only `AWS_ENDPOINT_URL`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sphere.errors import StoreUnavailable

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def client(service: str, *, max_pool_connections: int = 16) -> Any:
    """A boto3 client for `service` with standard retries and bounded timeouts."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError

    config = Config(
        retries={"mode": "standard", "max_attempts": 5},
        connect_timeout=5,
        read_timeout=30,
        max_pool_connections=max_pool_connections,
    )
    try:
        return boto3.session.Session().client(service, config=config)  # type: ignore[call-overload]
    except BotoCoreError as error:  # no region, a broken profile, ...
        raise StoreUnavailable(f"cannot set up the AWS {service} client: {error}") from None


def s3_client() -> S3Client:
    """A boto3 S3 client, typed by the stubs (`boto3-stubs[s3]`)."""
    s3: S3Client = client("s3")
    return s3
