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
again (see below). The record holds the opaque id only, never an address or a name.

The records stay, one per subscriber ever queued (the create-only "queued once" guard), so
nothing that runs hourly reads them all. Beside each welcome still to send is an empty marker,
`welcome/due/<subscriber id>`, written before the record and deleted once its outcome is
recorded (only after that write is confirmed: a lost answer leaves it, and the next round
reads the record again). `sphere publish` and `sphere status` list only markers: those
pending, and `welcome/unknown/<id>` and `welcome/given-up/<id>` for the few that need a
person's eye. A claim left `sending` for over an hour (a crash; a Lambda lives 15 minutes at
most) is recorded `unknown` by the next round, once.
"""

from __future__ import annotations

import calendar
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
DUE = "welcome/due/"  # markers: still to send (or in flight)
UNKNOWN = "welcome/unknown/"  # markers: handed over with no answer, never sent again
GIVEN_UP = "welcome/given-up/"  # markers: failed MAX_TRIES times
STALE_CLAIM = 3600.0  # seconds: a claim this old with no outcome died with its process
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
        """Queue a welcome for the subscriber; False if they ever had one queued.

        The marker goes first, so no crash leaves a due record that no round lists; one left
        over a record that had its outcome (a re-confirm) is deleted by the next round."""
        self.store.put(DUE + subscriber_id, b"")
        try:
            self.store.put(_key(subscriber_id), self._record("due"), if_none_match=True)
        except PreconditionFailed:
            return False
        return True

    def pending(self) -> list[str]:
        """The ids with a welcome still to send (or in flight): one listing."""
        return [key[len(DUE) :] for key in self.store.list(DUE)]

    def settle(self, subscriber_id: str) -> str | None:
        """Tidy the marker of a welcome that is not to be sent; what became of it:
        `unknown` or `given up` when this call found it so (report it once), `done` when the
        marker was stale, `None` when it is still to send or in flight (keep it)."""
        blob = self.store.get(_key(subscriber_id))
        if blob is None:
            return None  # the marker is written before the record: it may be landing now
        record = _parse(blob.data)
        state, tries = record["state"], int(record.get("tries", 0))
        if state == "sending" and self._stale(record):
            try:  # the claim's process died: it may have been delivered, so never again
                self.store.put(_key(subscriber_id), self._record("unknown", tries=tries),
                               if_match=blob.etag)  # fmt: skip
            except PreconditionFailed:
                return None  # its outcome landed meanwhile: the next round sees it
            self._close(subscriber_id, "unknown")
            return "unknown"
        if state in TO_SEND and tries >= MAX_TRIES:
            self._close(subscriber_id, "failed")
            return "given up"
        if state in TO_SEND or state == "sending":
            return None
        self.store.delete(DUE + subscriber_id)  # its outcome is recorded already
        return "done"

    def _stale(self, record: dict[str, Any]) -> bool:
        try:
            at = calendar.timegm(time.strptime(str(record.get("at")), "%Y-%m-%dT%H:%M:%SZ"))
        except ValueError:
            return True
        return self.clock.now() - at > STALE_CLAIM

    def _close(self, subscriber_id: str, state: str, tries: int = MAX_TRIES) -> None:
        """After an outcome is recorded: its marker goes (an `unknown` or given-up one is
        marked for `sphere status` first). A store that refuses leaves the marker: the next
        round reads the record and tries again."""
        if state in TO_SEND and tries < MAX_TRIES:
            return  # to try again: it stays pending
        try:
            if state == "unknown":
                self.store.put(UNKNOWN + subscriber_id, b"")
            elif state in TO_SEND:
                self.store.put(GIVEN_UP + subscriber_id, b"")
            self.store.delete(DUE + subscriber_id)
        except StoreError:
            pass  # the outcome stands; the next round's `settle` tidies the marker

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
        self._close(claim.subscriber_id, state, claim.tries)

    def skip(self, subscriber_id: str) -> None:
        """Mark a due welcome skipped (the reader left before it went); no-op if it moved on."""
        blob = self.store.get(_key(subscriber_id))
        if blob is None or _parse(blob.data)["state"] not in TO_SEND:
            return
        with contextlib.suppress(PreconditionFailed):  # it moved on: its new state stands
            self.store.put(_key(subscriber_id), self._record("skipped"), if_match=blob.etag)
            self._close(subscriber_id, "skipped")

    def forget(self, subscriber_id: str) -> None:
        """Delete every welcome object of an erased subscriber (their id is in each key)."""
        for prefix in (DUE, UNKNOWN, GIVEN_UP):
            self.store.delete(prefix + subscriber_id)
        self.store.delete(_key(subscriber_id))

    def counts(self) -> Counter[str]:
        """What needs saying: welcomes `pending` (to send or in flight), `unknown` (never
        resent) and `given up`; three listings of small markers, no record read."""
        counts: Counter[str] = Counter()
        for name, prefix in (("pending", DUE), ("unknown", UNKNOWN), ("given up", GIVEN_UP)):
            found = len(self.store.list(prefix))
            if found:
                counts[name] = found
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


__all__ = ["DUE", "GIVEN_UP", "MAX_TRIES", "PREFIX", "STATES", "UNKNOWN", "Claim", "WelcomeQueue"]
