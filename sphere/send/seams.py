"""The one place send reaches into the store, the subscriber list and AWS.

The store and subscriber packages are being reworked; everything send needs from them goes
through these few functions, so the seam can be re-pointed in one file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sphere.settings import Settings
    from sphere.store.blobs import BlobStore
    from sphere.subscribers.model import Subscriber


def ses_client() -> Any:
    """An SES v2 client from the store's boto3 factory, with botocore's retries switched off.

    botocore would otherwise resend a message on its own after a read timeout or a 5xx, when
    SES may already have accepted it; the campaign decides about retries itself.
    """
    from sphere.store import aws

    client = aws.client("sesv2")
    client.meta.events.unregister("needs-retry.sesv2", unique_id="retry-config-sesv2")
    return client


def open_store(settings: Settings) -> BlobStore:
    """The blob store SPHERE_STORE names (campaign ledgers live there too)."""
    from sphere.store.blobs import open_store as open_blob_store

    return open_blob_store(settings)


def people(settings: Settings) -> dict[str, Subscriber]:
    """Every subscriber record as it is now, by opaque id (read just before each batch)."""
    from sphere.subscribers.list import open_list

    return {record.id: record for record in open_list(settings).all()}


def normalise_address(text: str) -> str:
    """An address as the subscriber list would keep it, or ValueError saying what is wrong."""
    from sphere.subscribers.model import normalise_email

    return normalise_email(text)
