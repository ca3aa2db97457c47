"""Who is owed a welcome, and what became of it: one small object per subscriber in the store.

    welcome/<subscriber id>.json   {"state", "at", "tries", "detail", "message_id", "claim"}

States: `due` (queued at confirm), `sending` (claimed by one process, handed or about to be
handed to the transport), `sent`, `failed` (to try again), `refused` (the transport refused the
address for good: not tried again), `unknown` (handed over, no answer: not sent again),
`skipped` (no longer subscribed when its turn came).

Every change is a conditional write: the record is created only if absent (`if_none_match`), so
one subscriber is queued once, ever; and it moves on only from the version read (`if_match`),
so of two processes that try to send it (a double click, the endpoint and `sphere publish` at
once), one claims it and the other finds it taken. A claim that never reaches its outcome (a
crash, the store's answer lost) stays `sending`: it may have been delivered, so it is never sent
again, and `counts` reports it. The record holds the opaque id only, never an address or a name.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sphere.clock import SYSTEM, Clock
from sphere.errors import PreconditionFailed, StoreError

if TYPE_CHECKING:
    from sphere.store.blobs import BlobStore

PREFIX = "welcome/"
STATES = ("due", "sending", "sent", "failed", "refused", "unknown", "skipped")
TO_SEND = frozenset({"due", "failed"})
MAX_TRIES = 5  # a welcome that failed this often is left failed (and counted)


@dataclass(frozen=True)
class Claim:
    """The right to send one subscriber's welcome: the record's version after claiming it."""

    subscriber_id: str
    etag: str
    tries: int


class WelcomeQueue:
    """The welcome records in one blob store."""

    def __init__(self, store: BlobStore, *, clock: Clock = SYSTEM):
        self.store = store
        self.clock = clock

    def enqueue(self, subscriber_id: str) -> bool:
        """Queue a welcome for the subscriber; False if they ever had one queued."""
        try:
            self.store.put(_key(subscriber_id), self._record("due"), if_none_match=True)
        except PreconditionFailed:
            return False
        return True

    def state(self, subscriber_id: str) -> str | None:
        """The record's state, or None when no welcome was ever queued for them."""
        blob = self.store.get(_key(subscriber_id))
        return None if blob is None else str(_parse(blob.data)["state"])

    def claim(self, subscriber_id: str) -> Claim | None:
        """Claim a due (or failed) welcome for sending; None if there is none to send, or
        another process claimed it first."""
        blob = self.store.get(_key(subscriber_id))
        if blob is None:
            return None
        record = _parse(blob.data)
        tries = int(record.get("tries", 0))
        if record["state"] not in TO_SEND or tries >= MAX_TRIES:
            return None
        nonce = secrets.token_hex(8)
        data = self._record("sending", tries=tries + 1, claim=nonce)
        try:
            etag = self.store.put(_key(subscriber_id), data, if_match=blob.etag)
        except PreconditionFailed:
            return None  # someone else's claim (or outcome) landed first
        except StoreError:
            # The write may have landed with its answer lost: it is ours if it says so.
            landed = self._claimed_by(subscriber_id, nonce)
            if landed is None:
                raise
            etag = landed
        return Claim(subscriber_id, etag, tries + 1)

    def _claimed_by(self, subscriber_id: str, nonce: str) -> str | None:
        try:
            blob = self.store.get(_key(subscriber_id))
        except StoreError:
            return None
        if blob is None or _parse(blob.data).get("claim") != nonce:
            return None
        return blob.etag

    def finish(self, claim: Claim, state: str, *, detail: str = "", message_id: str = "") -> None:
        """Record a claimed welcome's outcome (StoreError if the store refuses: the record
        then stays `sending`, which is never sent again)."""
        extra = {"detail": detail} if detail else {}
        if message_id:
            extra["message_id"] = message_id
        data = self._record(state, tries=claim.tries, **extra)
        self.store.put(_key(claim.subscriber_id), data, if_match=claim.etag)

    def skip(self, subscriber_id: str) -> None:
        """Mark a due welcome skipped (the reader left before it went); no-op if it moved on."""
        blob = self.store.get(_key(subscriber_id))
        if blob is None or _parse(blob.data)["state"] not in TO_SEND:
            return
        with contextlib.suppress(PreconditionFailed):  # it moved on: its new state stands
            self.store.put(_key(subscriber_id), self._record("skipped"), if_match=blob.etag)

    def records(self) -> dict[str, dict[str, Any]]:
        """Every welcome record, by subscriber id."""
        from sphere.store.blobs import get_many

        keys = self.store.list(PREFIX)
        found = {}
        for key, blob in zip(keys, get_many(self.store, keys), strict=True):
            if blob is not None and key.endswith(".json"):
                found[key[len(PREFIX) : -len(".json")]] = _parse(blob.data)
        return found

    def counts(self) -> Counter[str]:
        """Welcomes by state; `failed` ones that have had MAX_TRIES count as `given up`."""
        counts: Counter[str] = Counter()
        for record in self.records().values():
            given_up = record["state"] == "failed" and record.get("tries", 0) >= MAX_TRIES
            counts["given up" if given_up else record["state"]] += 1
        return counts

    def _record(self, state: str, **fields: Any) -> bytes:
        at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.clock.now()))
        return json.dumps({"state": state, "at": at, **fields}, separators=(",", ":")).encode()


def _key(subscriber_id: str) -> str:
    return f"{PREFIX}{subscriber_id}.json"


def _parse(data: bytes) -> dict[str, Any]:
    """A record, or a DamagedObject-like StoreError when it is not one Sphere wrote."""
    try:
        record = json.loads(data)
        if not isinstance(record, dict) or record.get("state") not in STATES:
            raise ValueError("not a welcome record")
    except (ValueError, UnicodeError):
        raise StoreError(
            "a welcome record in the store is damaged (not what Sphere writes)"
        ) from None
    return record


__all__ = ["MAX_TRIES", "PREFIX", "STATES", "Claim", "WelcomeQueue"]
