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

import base64
import functools
import hashlib
import hmac
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sphere.clock import SYSTEM, Clock
from sphere.errors import DamagedObject, StoreError, SubscriberError
from sphere.store.blobs import BlobStore, get_many, open_store
from sphere.subscribers import erasure, snapshot
from sphere.subscribers.events import (
    CHANGES,
    MAX_DRIFT_SECONDS,
    ChangeKeys,
    Event,
    creation_event,
    decode,
    encode,
    key_ns,
    read_change,
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
    from sphere.subscribers.erase import EraseReport

log = logging.getLogger(__name__)

SETTLE_SECONDS = 2.0  # compaction leaves younger changes alone, so keys are folded in order
STALE_SECONDS = 600.0  # a temporary file this old belongs to a write that will never finish


@dataclass
class CompactReport:
    """What `compact` did."""

    folded: int = 0  # change objects folded into the new snapshot
    removed: int = 0  # change objects deleted
    left: int = 0  # changes younger than the settle time, left for next time
    subscribers: int = 0
    written: bool = False


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
    def key_bytes(self) -> bytes:
        """The erasure key (for the hashes of erased addresses, ids and key checks)."""
        return self._key()

    def hash(self, email: str) -> str:
        """The keyed hash kept for an erased address (HMAC-SHA256)."""
        return hmac.new(self.key_bytes, email.encode(), hashlib.sha256).hexdigest()

    def id_for(self, address: str) -> str:
        """The opaque id of a (normalised) address: the same whoever creates the record and
        whenever, so two writers that both add an address at once give it one id, and a link
        already mailed never stops resolving (a random id per creation could change when a
        compaction folded the two creations in another order than readers had)."""
        digest = hmac.new(self.key_bytes, b"subscriber id\0" + address.encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(digest.digest()[:16]).rstrip(b"=").decode()

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
        for attempt in range(10):
            keys = self.store.list(CHANGES)
            stored = snapshot.load(self.store, self.hash, only=only)
            if stored is None:  # a newer snapshot replaced a shard since the head was read
                self.clock.sleep(0.01 * attempt)
                continue
            fold = stored.fold
            done = set(fold.folded)
            pending = [k for k in keys if k not in done]
            if until_ns is not None:
                future = self.keys.now_ns() + int(MAX_DRIFT_SECONDS * 1e9)
                pending = [k for k in pending if not until_ns < key_ns(k) <= future]
            blobs = list(get_many(self.store, pending, workers=16))
            if any(b is None for b in blobs):
                continue  # a compaction folded and removed them since we listed: read again
            changes = [
                (key, read_change(self.store, key, blob.data))  # type: ignore[union-attr]
                for key, blob in zip(pending, blobs, strict=True)
            ]
            for _key, events in changes:
                fold.apply_events(events, only=only)
            fold.newest = max([fold.newest, *map(key_ns, pending)])
            self.keys.saw(max([fold.newest, *map(key_ns, keys)]))
            self._check_key(fold)
            self._finish_erasures(fold, changes, only=only)
            return fold, stored, keys
        raise self._stuck()

    def _stuck(self) -> StoreError:
        """Why reading kept failing: a head that points to a shard that is gone is damage
        (nothing replaced it while we read); anything else is writers racing us."""
        head = self.store.get(SNAPSHOT)
        if head is not None:
            shards = snapshot.parse_head(self.store, head.data).get("shards", {})
            for key in sorted(shards.values()):
                if self.store.get(key) is None:
                    return DamagedObject(
                        self.store.url, SNAPSHOT, f"it points to {key}, which is missing"
                    )
        return StoreError(f"the subscriber list in {self.store.url} kept changing; try again")

    def _finish_erasures(
        self, fold: Fold, changes: list[tuple[str, list[Event]]], *, only: str | None
    ) -> None:
        """Scrub an erased address from change objects that still name it: a writer that
        was slow to land its change after the erasure had finished. Any command that reads
        the list finishes the erasure so (best effort: a reader that may not write leaves it
        to the next one)."""
        for key, events in changes:
            for address in sorted(fold.erased_in(events, only=only)):
                try:
                    self.scrub_change(key, address)
                    log.info("removed an erased address from %s, which landed late", key)
                except StoreError as error:
                    log.warning("%s still names an erased address: %s", key, error)

    def _check_key(self, fold: Fold) -> None:
        """Refuse to work with another erasure key than the erasures were made with: its
        hashes would not recognise the people erased, and an import would add them back."""
        if fold.key_checks and fold.key_checks != {erasure.key_check(self.key_bytes)}:
            raise SubscriberError(
                f"the erasure key differs from the one the erasures in {self.store.url} were "
                "made with (was SPHERE_SECRET changed?): restore it, or erased people could be "
                "added back"
            )

    def find_id(self, subscriber_id: str) -> Subscriber | None:
        """The record with this opaque id, or None: the id index's shard, the one address
        shard it names and the changes not yet folded, then `lookup` of that address (the
        one-click unsubscribe of a list of 100,000 costs a few requests, not the list)."""
        address = self._address_of(subscriber_id)
        if address is None:
            return None
        record = self.lookup(address).records.get(address)
        return record if record is not None and record.id == subscriber_id else None

    def _address_of(self, subscriber_id: str) -> str | None:
        for attempt in range(10):
            keys = self.store.list(CHANGES)
            found = snapshot.find_id(self.store, subscriber_id)
            if found is None:  # a newer snapshot replaced a shard since the head was read
                self.clock.sleep(0.01 * attempt)
                continue
            if not found.indexed:  # a snapshot from before the index: the whole list
                records = self.read()[0].records.values()
                return next((r.email for r in records if r.id == subscriber_id), None)
            if found.address is not None:
                return found.address
            folded = set(found.folded)
            pending = [k for k in keys if k not in folded]
            blobs = list(get_many(self.store, pending, workers=16))
            if any(b is None for b in blobs):
                continue  # folded and removed since we listed: read again
            for key, blob in zip(pending, blobs, strict=True):
                for event in read_change(self.store, key, blob.data):  # type: ignore[union-attr]
                    if event.get("id") == subscriber_id:
                        return str(event["email"])  # type: ignore[typeddict-item]
            return None
        raise self._stuck()

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
            "add", address, id=self.id_for(address), at=now, status=Status.SUBSCRIBED,
            name=name, consent=(now, "cli", source),
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
        now = self.keys.now_ns()
        until, future = now - int(settle * 1e9), now + int(MAX_DRIFT_SECONDS * 1e9)
        fold, stored, keys = self.read(until_ns=until)
        listed, folded_before = set(keys), set(fold.folded)
        already = [k for k in fold.folded if k in listed]  # folded before, not yet removed
        fresh = [k for k in keys if k not in folded_before and not until < key_ns(k) <= future]
        if ahead := sum(key_ns(k) > future for k in fresh):
            log.warning(
                "%s: %s changes are dated more than %.0f s ahead of this machine's clock; "
                "folded now (check the clock of the machine that wrote them)",
                self.store.url, ahead, MAX_DRIFT_SECONDS,
            )  # fmt: skip
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
        """Remove a person's data from every object in the store; keep only a keyed hash
        (`sphere.subscribers.erase`, which says how)."""
        from sphere.subscribers.erase import erase

        return erase(self, _address(email))

    def scrub_change(self, key: str, address: str, report: EraseReport | None = None) -> None:
        """Rewrite (or delete) one change object so it no longer names an erased address."""
        from sphere.subscribers.erase import EraseReport, scrub_change

        scrub_change(self, key, address, erasure.mentions(address), report or EraseReport())


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
