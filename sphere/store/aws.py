"""The one place boto3 clients are made, and botocore's errors read.

boto3 is imported here, inside `client`, and nowhere at module level: `sphere --help` must not
pay for it. Credentials, region and endpoint come from boto3's standard chain, so a local
stand-in (moto) needs only `AWS_ENDPOINT_URL`. The edges that call AWS (the SES transport, the
feedback queue) catch `errors()` and ask `classify` what happened, so no other module imports
botocore or matches its exceptions by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

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


# What a failed AWS call means to its caller:
# - answered: the service answered with an error `code` (and an HTTP `status`);
# - unreached: the connection never opened, so the request cannot have arrived (try again);
# - unanswered: it broke after the request went out, so the request may have arrived;
# - unconfigured: no credentials or region to make the request with;
# - other: another botocore error (a bad parameter caught before sending, say).
Kind = Literal["answered", "unreached", "unanswered", "unconfigured", "other"]


@dataclass(frozen=True)
class AwsError:
    """A botocore error, read."""

    kind: Kind
    code: str = ""  # the service's error code, for `answered`
    message: str = ""  # the service's message (one line) or botocore's
    status: int = 0  # the HTTP status, for `answered`
    name: str = ""  # the exception's class, for a message that names it


def errors() -> tuple[type[Exception], ...]:
    """botocore's errors, for an `except` clause (evaluated only once something is being
    caught, so importing the caller's module stays cheap)."""
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError)


def classify(error: Exception) -> AwsError:
    """What `error`, one of `errors()`, means."""
    from botocore import exceptions

    name = type(error).__name__
    if isinstance(error, exceptions.ClientError):
        details = error.response.get("Error", {})
        meta = error.response.get("ResponseMetadata", {})
        return AwsError(
            "answered",
            code=str(details.get("Code", "")),
            message=" ".join(str(details.get("Message", "")).split()),
            status=int(meta.get("HTTPStatusCode", 0) or 0),
            name=name,
        )
    unconfigured = (
        exceptions.NoCredentialsError,
        exceptions.PartialCredentialsError,
        exceptions.NoRegionError,
    )
    kind: Kind = "other"
    if isinstance(error, unconfigured):
        kind = "unconfigured"
    elif isinstance(error, exceptions.ConnectionError):  # botocore's: never connected
        kind = "unreached"
    elif isinstance(error, exceptions.HTTPClientError):  # read timeout, connection closed
        kind = "unanswered"
    return AwsError(kind, message=str(error), name=name)
