"""Erasure's parts: the key for the hashes kept of erased people, and scrubbing text of them.

The key. Erased people are kept off the list by an HMAC of their address, so the key must
stay the same for the life of the store and must not be guessable from the store alone:

- with `SPHERE_SECRET` set, the key is derived from it (HMAC with a fixed label): a key made
  for this one purpose, never written anywhere, and the secret itself is not the key;
- without it, a random key is kept in the store itself (`keys/erasure`, created once by an
  exclusive put: owner-only in a folder, encrypted in S3). A store that has such a key keeps
  using it when SPHERE_SECRET is set later.

Either way the store records the key's fingerprint with each erasure, and every command
refuses another key (`SubscriberList.read`). The same code for a folder and for S3.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import re
import secrets
from typing import Any

from sphere.errors import PreconditionFailed
from sphere.store.blobs import BlobStore
from sphere.subscribers.model import FREE_TEXT, Subscriber

KEY_OBJECT = "keys/erasure"
_LABEL = b"sphere subscriber erasure key v1"


# Requests kept outside the list that name a person: the endpoints keep an erased person's new
# subscribe request here (one object each, holding the address) until they confirm it.
HELD_REQUESTS = "web/pending/"


def erasure_key(secret: str, store: BlobStore) -> bytes:
    """The HMAC key for erasure hashes (see the module's docstring for where it comes from)."""
    blob = store.get(KEY_OBJECT)
    if blob is None and secret:
        return hmac.new(secret.encode(), _LABEL, hashlib.sha256).digest()
    if blob is None:
        with contextlib.suppress(PreconditionFailed):  # the first process here decides the key
            store.put(KEY_OBJECT, secrets.token_hex(32).encode(), if_none_match=True)
        blob = store.get(KEY_OBJECT)
    assert blob is not None  # nothing deletes it  # noqa: S101
    return blob.data.strip()


def key_check(key: bytes) -> str:
    """A fingerprint of the erasure key, kept in the store: it reveals nothing of the key."""
    return hmac.new(key, b"sphere erasure key check", hashlib.sha256).hexdigest()[:16]


def mentions(address: str) -> re.Pattern[str]:
    """The address in any text, in any case, not as the tail of a longer one (`joann@x.com`).

    A dot may follow (`ann@x.com.csv`, a file named after them, is a mention): when it is
    another address (`ann@x.com.au`), only that person's free text is scrubbed, never their
    address.
    """
    before = r"(?<![\w.!#$%&'*+/=?^`{|}~-])"
    after = r"(?![\w-])"
    return re.compile(before + re.escape(address) + after, re.IGNORECASE)


def scrub_value(value: Any, pattern: re.Pattern[str]) -> Any:
    """`value` with every string that quotes the address blanked (in lists and dicts too)."""
    if isinstance(value, str):
        return "" if pattern.search(value) else value
    if isinstance(value, list):
        return [scrub_value(v, pattern) for v in value]
    if isinstance(value, dict):
        return {k: scrub_value(v, pattern) for k, v in value.items()}
    return value


def scrub_event(event: dict[str, Any], pattern: re.Pattern[str]) -> dict[str, Any]:
    """Another person's event with every free-text field that quotes the address blanked."""
    return {
        k: v if k in ("op", "email", "id") else scrub_value(v, pattern) for k, v in event.items()
    }


def scrub_record(record: Subscriber, pattern: re.Pattern[str]) -> bool:
    """Blank each free-text field of another person's record that quotes the address."""
    changed = False
    for name in FREE_TEXT:
        value = getattr(record, name)
        if value and (clean := scrub_value(value, pattern)) != value:
            setattr(record, name, clean)
            changed = True
    return changed


_ADDRESS_LIKE = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")


def quoted_addresses(record: Subscriber) -> set[str]:
    """Every address-like word in a record's free text, lower-cased (to check against hashes)."""
    found: set[str] = set()
    for name in FREE_TEXT:
        value = getattr(record, name)
        texts = value.values() if isinstance(value, dict) else [value] if value else []
        for text in texts:
            if "@" in text:
                found.update(match.lower() for match in _ADDRESS_LIKE.findall(text))
    return found
