"""The subscriber list in a blob store: append-only changes, folded into a snapshot.

Store layout (under the store's root or S3 prefix):

    subscribers/snapshot.json                 the folded list, written by `compact` with if-match
    subscribers/changes/<ns>-<random>.jsonl   one object per change (or per import batch),
                                              one event per line, never rewritten (but by erasure)
    keys/erasure                              the erasure key, only when SPHERE_SECRET is unset

A reader lists the changes, then reads the snapshot, and applies in key order every change the
snapshot has not folded. The snapshot names the change keys it folded that may still exist
(compaction deletes them only after the snapshot is written), so a change is never applied
twice and a change that lands late, with a key older than ones already folded, is still read.
The rules the fold applies are in `sphere.subscribers.fold`.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sphere.clock import SYSTEM, Clock
from sphere.errors import PreconditionFailed, StoreError, SubscriberError
from sphere.store.blobs import BlobStore, get_many, open_store
from sphere.subscribers import erasure, snapshot
from sphere.subscribers.events import (
    CHANGES,
    ChangeKeys,
    Event,
    creation_event,
    decode,
    encode,
    key_ns,
    status_event,
)
from sphere.subscribers.fold import Fold, new_record
from sphere.subscribers.model import (
    STATUSES,
    SUPPRESSED,
    Status,
    Subscriber,
    clean_name,
    deliverable_email,
    normalise_email,
)
from sphere.subscribers.snapshot import SNAPSHOT, Stored

if TYPE_CHECKING:
    from sphere.settings import Settings

log = logging.getLogger(__name__)

SETTLE_SECONDS = 2.0  # compaction leaves younger changes alone, so keys are folded in order
STALE_SECONDS = 600.0  # a temporary file this old belongs to a write that will never finish
_RETRIES = 200  # erasure's attempts at a rewrite that another writer keeps changing


@dataclass
class CompactReport:
    """What `compact` did."""

    folded: int = 0  # change objects folded into the new snapshot
    removed: int = 0  # change objects deleted
    left: int = 0  # changes younger than the settle time, left for next time
    subscribers: int = 0
    written: bool = False


@dataclass
class EraseReport:
    """What `erase` did; the address itself is not kept here."""

    found: bool = False
    rewritten: int = 0  # change objects that mentioned the address and were rewritten
    removed: int = 0  # change objects that held nothing else and were deleted
    others: int = 0  # other people's records and changes that quoted the address, scrubbed


@dataclass
class Outcome:
    """The result of a single add or remove."""

    email: str
    result: str  # added | already | suppressed | erased | a suppressed status
    subscriber: Subscriber | None = field(default=None, repr=False)


class SubscriberList:
    """The subscriber list kept in a blob store."""

    def __init__(
        self,
        store: BlobStore,
        *,
        key: Callable[[], bytes],
        clock: Clock = SYSTEM,
        batch: int = 5000,
    ):
        self.store = store
        self.clock = clock
        self.keys = ChangeKeys(clock)
        self.batch = batch
        self._key = key

    @functools.cached_property
    def _hmac_key(self) -> bytes:
        return self._key()

    def hash(self, email: str) -> str:
        """The keyed hash kept for an erased address (HMAC-SHA256)."""
        return hmac.new(self._hmac_key, email.encode(), hashlib.sha256).hexdigest()

    def now(self) -> str:
        """The time as records keep it (ISO 8601 UTC)."""
        return self.keys.timestamp()

    # reading

    def read(self, *, until_ns: int | None = None) -> tuple[Fold, Stored, list[str]]:
        """The current fold, the snapshot as read, and every change key listed.

        With `until_ns`, changes with later keys are left out (compaction's settle time).
        """
        return self._read(until_ns=until_ns)

    def lookup(self, address: str) -> Fold:
        """A fold that answers for one (normalised) address: the snapshot's shard that holds
        it and the changes that concern it, not the whole list."""
        return self._read(only=address)[0]

    def _read(
        self, *, until_ns: int | None = None, only: str | None = None
    ) -> tuple[Fold, Stored, list[str]]:
        for _ in range(10):
            keys = self.store.list(CHANGES)
            stored = snapshot.load(self.store, self.hash, only=only)
            if stored is None:
                continue  # a newer snapshot replaced a shard since the head was read
            fold = stored.fold
            done = set(fold.folded)
            pending = [k for k in keys if k not in done]
            if until_ns is not None:
                pending = [k for k in pending if key_ns(k) <= until_ns]
            blobs = list(get_many(self.store, pending, workers=16))
            if any(b is None for b in blobs):
                continue  # a compaction folded and removed them since we listed: read again
            for change in blobs:
                fold.apply_object(change.data, only=only)  # type: ignore[union-attr]
            fold.newest = max([fold.newest, *map(key_ns, pending)])
            self.keys.saw(max([fold.newest, *map(key_ns, keys)]))
            self._check_key(fold)
            return fold, stored, keys
        raise StoreError(f"the subscriber list in {self.store.url} kept changing; try again")

    def _check_key(self, fold: Fold) -> None:
        """Refuse to work with another erasure key than the erasures were made with: its
        hashes would not recognise the people erased, and an import would add them back."""
        if fold.key_checks and fold.key_checks != {erasure.key_check(self._hmac_key)}:
            raise SubscriberError(
                f"the erasure key differs from the one the erasures in {self.store.url} were "
                "made with (was SPHERE_SECRET changed?): restore it, or erased people could be "
                "added back"
            )

    def all(self, *, status: str | None = None) -> list[Subscriber]:
        """Every subscriber (with `status`, only those), by address."""
        records = self.read()[0].records.values()
        chosen = [r for r in records if status is None or r.status == status]
        return sorted(chosen, key=lambda r: r.email)

    def counts(self) -> dict[str, int]:
        """How many subscribers have each status (every status, zeros included)."""
        found = Counter(r.status for r in self.read()[0].records.values())
        return {status: found.get(status, 0) for status in STATUSES}

    # writing

    def append(self, events: Iterable[Event]) -> str:
        """Write events as one new change object; return its key."""
        key = self.keys.new()
        self.store.put(key, encode(events))
        return key

    def add(self, email: str, *, name: str = "", source: str = "sphere subscribers add") -> Outcome:
        """Subscribe an address on the author's word (consent method `cli`)."""
        address, name = _address(email, joining=True), _name(name)
        fold = self.lookup(address)
        if (record := fold.records.get(address)) is not None:
            result = "suppressed" if record.status in SUPPRESSED else "already"
            return Outcome(address, result, record)
        if fold.is_erased(address):
            return Outcome(address, "erased")
        now = self.now()
        event = creation_event(
            "add", address, at=now, status=Status.SUBSCRIBED, name=name,
            consent=(now, "cli", source),
        )  # fmt: skip
        self.append([event])
        record = new_record(event)
        if (held := fold.suppressions.get(address)) is not None:
            record.status = held[0]
            return Outcome(address, "suppressed", record)
        return Outcome(address, "added", record)

    def remove(self, email: str, *, status: str = Status.UNSUBSCRIBED) -> Outcome:
        """Unsubscribe (or mark bounced or complained) an address on the list."""
        address = _address(email)
        record = self.lookup(address).records.get(address)
        if record is None:
            raise SubscriberError(f"{address} is not on the list")
        if record.status == status:
            return Outcome(address, "already", record)
        self.append([status_event(address, status, at=self.now())])
        return Outcome(address, status, record)

    def compact(self, *, settle: float = SETTLE_SECONDS) -> CompactReport:
        """Fold the changes older than `settle` seconds into a new snapshot, then remove them.

        The snapshot is written only if no other compaction replaced it since it was read
        (if-match); a lost race raises PreconditionFailed and changes nothing. An erasure
        folded here for the first time also scrubs other records that quote the address: so
        an erasure interrupted half-way is finished by the next compaction.
        """
        self.store.sweep(older_than=STALE_SECONDS)
        until = self.keys.now_ns() - int(settle * 1e9)
        fold, stored, keys = self.read(until_ns=until)
        listed, folded_before = set(keys), set(fold.folded)
        already = [k for k in fold.folded if k in listed]  # folded before, not yet removed
        fresh = [k for k in keys if k not in folded_before and key_ns(k) <= until]
        report = CompactReport(left=len(keys) - len(already) - len(fresh))
        report.subscribers = len(fold.records)
        if fresh or stored.etag is None:  # (keys already removed are trimmed from `folded`)
            if fold.erased - stored.erased:  # an erasure folded for the first time
                self._scrub_erased(fold)
            fold.folded = already + fresh
            snapshot.save(self.store, stored, fold, now_ns=self.keys.now_ns())
            report.folded, report.written = len(fresh), True
        # NOTE: only now, with the snapshot safely written, may the folded changes go.
        _delete_all(self.store, already + fresh)
        report.removed = len(already) + len(fresh)
        log.info("compacted %s: %s", self.store.url, report)
        return report

    def _scrub_erased(self, fold: Fold) -> None:
        """Blank free text in other records that quotes an erased address (found by hash)."""
        if not fold.erased:
            return
        for record in fold.records.values():
            for quoted in erasure.quoted_addresses(record):
                if fold.is_erased(quoted):
                    erasure.scrub_record(record, erasure.mentions(quoted))

    def erase(self, email: str) -> EraseReport:
        """Remove a person's data from every object in the store; keep only a keyed hash.

        No compaction is needed (a busy compactor cannot starve it): the erase change goes in
        first, so no fold brings the person back, then each change object and the snapshot is
        rewritten without them, each retried until it holds.
        """
        address = _address(email)
        report = EraseReport(found=self.lookup(address).status_of(address) is not None)
        digest = self.hash(address)
        check = erasure.key_check(self._hmac_key)
        self.append([{"op": "erase", "hash": digest, "key_check": check}])
        pattern = erasure.mentions(address)
        keys = self.store.list(CHANGES)
        for key, blob in zip(keys, get_many(self.store, keys), strict=True):
            if blob is not None and _mentions(blob.data, pattern):
                self._scrub_change(key, address, pattern, report)
        self._scrub_snapshot(address, digest, check, pattern, report)
        for key in self.store.list(erasure.HELD_REQUESTS):
            blob = self.store.get(key)
            if blob is not None and _mentions(blob.data, pattern):
                self.store.delete(key)
                report.removed += 1
        for _ in range(40):  # a killed writer's temporary copy goes once old enough to be dead
            if not self.store.sweep(older_than=5, matching=lambda d: _mentions(d, pattern)):
                break
            self.clock.sleep(0.25)
        return report

    def _scrub_change(self, key: str, address: str, pattern: Any, report: EraseReport) -> None:
        """Rewrite (or delete) one change object so it no longer mentions the address."""
        for attempt in range(_RETRIES):
            blob = self.store.get(key)
            if blob is None or not _mentions(blob.data, pattern):
                return  # compacted away, or clean
            events = decode(blob.data)
            others = [event for event in events if event.get("email") != address]
            kept = [erasure.scrub_event(dict(event), pattern) for event in others]
            if kept == events:
                return  # the address was only part of another address
            try:
                if kept:
                    self.store.put(key, encode(kept), if_match=blob.etag)  # type: ignore[arg-type]
                    report.rewritten += 1
                    report.others += sum(a != b for a, b in zip(others, kept, strict=True))
                else:
                    self.store.delete(key)
                    report.removed += 1
                return
            except PreconditionFailed:  # another erasure rewrote it: read it again
                self.clock.sleep(0.01 * min(attempt, 10))
        raise StoreError(f"{key} kept changing while it was erased from; run erase again")

    def _scrub_snapshot(
        self, address: str, digest: str, check: str, pattern: Any, report: EraseReport
    ) -> None:
        """Rewrite the snapshot without the person, retrying until no compaction intervenes;
        then remove shards no head points to that still hold the address."""
        for attempt in range(_RETRIES):
            stored = snapshot.load(
                self.store, self.hash, mentioning=lambda data: _mentions(data, pattern)
            )
            if stored is None:
                continue
            fold = stored.fold  # only the shards that mention the address
            held = fold.records.pop(address, None), fold.suppressions.pop(address, None)
            quoting = sum(erasure.scrub_record(r, pattern) for r in fold.records.values())
            if held != (None, None) or quoting:
                fold.erased.add(digest)
                fold.key_checks.add(check)
                try:
                    snapshot.save(self.store, stored, fold, now_ns=self.keys.now_ns())
                except PreconditionFailed:  # a compaction won: its snapshot is scrubbed next
                    self.clock.sleep(0.01 * min(attempt, 10))
                    continue
                report.others += quoting
            break
        else:
            raise StoreError(f"{SNAPSHOT} kept changing while it was erased from; run erase again")
        for key, blob in zip(
            keys := snapshot.unreferenced(self.store), get_many(self.store, keys), strict=True
        ):
            if blob is not None and _mentions(blob.data, pattern):
                self.store.delete(key)  # a killed or beaten compaction's: never to be used


def _mentions(data: bytes, pattern: Any) -> bool:
    return bool(pattern.search(data.decode("utf-8", "replace")))


def _delete_all(store: BlobStore, keys: list[str]) -> None:
    if len(keys) < 4:
        for key in keys:
            store.delete(key)
        return
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(store.delete, keys))


def _address(text: str, *, joining: bool = False) -> str:
    try:
        return deliverable_email(text) if joining else normalise_email(text)
    except ValueError as error:
        raise SubscriberError(str(error)) from None


def _name(text: str) -> str:
    try:
        return clean_name(text)
    except ValueError as error:
        raise SubscriberError(str(error)) from None


def open_list(settings: Settings) -> SubscriberList:
    """The subscriber list in the store SPHERE_STORE names."""
    store = open_store(settings)
    return SubscriberList(store, key=lambda: erasure.erasure_key(settings.secret, store))


def iter_changes(store: BlobStore) -> Iterator[tuple[str, Event]]:
    """Every event still in a change object, with its key (for tests and audits)."""
    for key in store.list(CHANGES):
        blob = store.get(key)
        for event in decode(blob.data) if blob else []:
            yield key, event
