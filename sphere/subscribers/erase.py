"""Erasing a person from every object in the store, keeping only a keyed hash of them.

The erase change goes in first, so no fold brings the person back; then each change object
that names them is rewritten without them (other people's text that quotes them blanked),
and the snapshot is written again without them. Writing the head also makes every compaction
that read an older head lose its race, so the shards it wrote, which may still name the person,
can be deleted (`snapshot.sweep`). Then the store is read again, and the passes repeat until no
object names the person. A change that a slow writer lands later is still the erase change's to
finish: every read of the list scrubs it (`SubscriberList._finish_erasures`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sphere.errors import PreconditionFailed, StoreError
from sphere.store.blobs import get_many
from sphere.subscribers import erasure, snapshot
from sphere.subscribers.events import CHANGES, encode, read_change
from sphere.subscribers.snapshot import SNAPSHOT
from sphere.subscribers.welcomes import WelcomeQueue

if TYPE_CHECKING:
    from sphere.subscribers.list import SubscriberList

log = logging.getLogger(__name__)

_RETRIES = 200  # attempts at a rewrite that another writer keeps changing
_PASSES = 5  # the store is read again until nothing names the person, at most so often
_PERSONAL = (CHANGES, snapshot.SHARDS, erasure.HELD_REQUESTS)  # where an address can be


@dataclass
class EraseReport:
    """What `erase` did; the address itself is not kept here."""

    found: bool = False
    rewritten: int = 0  # change objects that mentioned the address and were rewritten
    removed: int = 0  # change objects that held nothing else and were deleted
    others: int = 0  # other people's records and changes that quoted the address, scrubbed


def erase(subscribers: SubscriberList, address: str) -> EraseReport:
    """Remove the person with this (normalised) address from every object in the store;
    keep only a keyed hash. No compaction is needed (a busy compactor cannot starve it)."""
    before = subscribers.lookup(address)
    report = EraseReport(found=before.status_of(address) is not None)
    record = before.records.get(address)  # its id: a record older than keyed ids has another
    digest = subscribers.hash(address)
    check = erasure.key_check(subscribers.key_bytes)
    subscribers.append([{"op": "erase", "hash": digest, "key_check": check}])
    pattern = erasure.mentions(address)
    # Their welcome's record and markers hold no address, only their id: deleted by key.
    WelcomeQueue(subscribers.store).forget(record.id if record else subscribers.id_for(address))
    for _ in range(_PASSES):
        for key in _naming(subscribers, CHANGES, pattern):
            scrub_change(subscribers, key, address, pattern, report)
        _scrub_snapshot(subscribers, address, digest, check, pattern, report)
        for key in _naming(subscribers, erasure.HELD_REQUESTS, pattern):
            subscribers.store.delete(key)
            report.removed += 1
        if not any(_naming(subscribers, prefix, pattern) for prefix in _PERSONAL):
            break
    else:
        log.warning(
            "%s: objects still named the erased address after %s passes; the next command "
            "that reads the list finishes the erasure",
            subscribers.store.url, _PASSES,
        )  # fmt: skip
    for _ in range(40):  # a killed writer's temporary copy goes once old enough to be dead
        if not subscribers.store.sweep(older_than=5, matching=lambda d: _mentions(d, pattern)):
            break
        subscribers.clock.sleep(0.25)
    return report


def _naming(subscribers: SubscriberList, prefix: str, pattern: Any) -> list[str]:
    """The keys under `prefix` whose objects mention the address `pattern` matches."""
    keys = subscribers.store.list(prefix)
    blobs = get_many(subscribers.store, keys)
    return [k for k, b in zip(keys, blobs, strict=True) if b and _mentions(b.data, pattern)]


def scrub_change(
    subscribers: SubscriberList, key: str, address: str, pattern: Any, report: EraseReport
) -> None:
    """Rewrite (or delete) one change object so it no longer mentions the address."""
    for attempt in range(_RETRIES):
        blob = subscribers.store.get(key)
        if blob is None or not _mentions(blob.data, pattern):
            return  # compacted away, or clean
        events = read_change(subscribers.store, key, blob.data)
        others = [event for event in events if event.get("email") != address]
        kept = [erasure.scrub_event(dict(event), pattern) for event in others]
        if kept == events:
            return  # the address was only part of another address
        try:
            if kept:
                subscribers.store.put(key, encode(kept), if_match=blob.etag)  # type: ignore[arg-type]
                report.rewritten += 1
                report.others += sum(a != b for a, b in zip(others, kept, strict=True))
            else:
                subscribers.store.delete(key)
                report.removed += 1
            return
        except PreconditionFailed:  # another erasure rewrote it: read it again
            subscribers.clock.sleep(0.01 * min(attempt, 10))
    raise StoreError(f"{key} kept changing while it was erased from; run erase again")


def _scrub_snapshot(
    subscribers: SubscriberList,
    address: str,
    digest: str,
    check: str,
    pattern: Any,
    report: EraseReport,
) -> None:
    """Write the snapshot again without the person (and with their hash as erased),
    retrying until no compaction intervenes. Written even when no shard named them: a
    new head is what retires the shards of compactions still running (see `erase`)."""
    for attempt in range(_RETRIES):
        stored = snapshot.load(
            subscribers.store, subscribers.hash, mentioning=lambda data: _mentions(data, pattern)
        )
        if stored is None:
            continue
        fold = stored.fold  # only the shards that mention the address
        fold.records.pop(address, None), fold.suppressions.pop(address, None)
        quoting = sum(erasure.scrub_record(r, pattern) for r in fold.records.values())
        fold.erased.add(digest)
        fold.key_checks.add(check)
        try:
            snapshot.save(subscribers.store, stored, fold, now_ns=subscribers.keys.now_ns())
        except PreconditionFailed:  # a compaction won: its snapshot is scrubbed next
            subscribers.clock.sleep(0.01 * min(attempt, 10))
            continue
        report.others += quoting
        return
    raise StoreError(f"{SNAPSHOT} kept changing while it was erased from; run erase again")


def _mentions(data: bytes, pattern: Any) -> bool:
    return bool(pattern.search(data.decode("utf-8", "replace")))
