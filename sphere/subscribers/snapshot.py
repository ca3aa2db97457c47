"""The snapshot in the store: a small head and shards of records, by address hash.

    subscribers/snapshot.json                      the head: folded change keys, erased
                                                   hashes, key fingerprints, and each shard's key
    subscribers/shards/<ns>-<random>-<hh>.json     the records (and pending suppressions) whose
                                                   address's SHA-256 starts with `hh`; never
                                                   rewritten (one shard, `all`, for a small list;
                                                   16 or 256 as it grows: `fold.width_for`)

One address costs the head and one shard, not the whole list. A shard is written under a new
key whenever its contents change, and the head is then swapped in with a conditional write: so
a head always points at shards that were complete before it was written. Replaced shards are
deleted right after (a reader still holding the old head finds one gone and reads again);
shards that no head points to, left by a compaction that lost its race or was killed, are
deleted once they are old enough not to belong to one still running.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sphere.errors import PreconditionFailed, StoreError
from sphere.store.blobs import BlobStore, get_many
from sphere.subscribers.fold import FORMAT, Fold, shard_of, width_for
from sphere.subscribers.model import Subscriber

SNAPSHOT = "subscribers/snapshot.json"
SHARDS = "subscribers/shards/"
_T = TypeVar("_T")
ORPHAN_SECONDS = 300.0  # an unreferenced shard this old belongs to no running compaction


@dataclass
class Stored:
    """A snapshot as read: the fold, the head's etag, and the shards' keys and bytes."""

    fold: Fold
    etag: str | None = None
    keys: dict[str, str] = field(default_factory=dict)  # shard id -> key, all of them
    data: dict[str, bytes] = field(default_factory=dict)  # shard id -> bytes, those read
    erased: frozenset[str] = frozenset()  # the hashes erased as of the head
    loaded: frozenset[str] | None = None  # the shards in `fold`, when not all of them
    width: int = 0  # hex digits of the address hash that name a shard


def load(
    store: BlobStore,
    hasher: Callable[[str], str],
    *,
    only: str | None = None,
    mentioning: Callable[[bytes], bool] | None = None,
) -> Stored | None:
    """The snapshot; None if a shard vanished since the head was read (a newer snapshot
    replaced it: read again). With `only`, just the shard of that address; with `mentioning`,
    only the shards whose bytes it accepts are parsed into the fold (the rest are kept as
    bytes, and `save` leaves them as they are)."""
    blob = store.get(SNAPSHOT)
    if blob is None:
        return Stored(Fold(hasher))
    head = json.loads(blob.data)
    if head.get("format") == 1:  # one file, from before shards: the next compaction converts it
        return _load_single(head, blob.etag, hasher)
    if head.get("format") != FORMAT:
        raise StoreError(f"{SNAPSHOT}: unknown format {head.get('format')!r}")
    keys: dict[str, str] = head["shards"]
    width = head["width"]
    wanted = [shard_of(only, width)] if only is not None else sorted(keys)
    wanted = [shard for shard in wanted if shard in keys]
    blobs = list(get_many(store, [keys[shard] for shard in wanted], workers=16))
    if any(b is None for b in blobs):
        return None
    fold = Fold.from_head(head, hasher)
    stored = Stored(fold, blob.etag, keys, erased=frozenset(head["erased"]), width=width)
    parsed: set[str] = set()
    for shard, shard_blob in zip(wanted, blobs, strict=True):
        data = shard_blob.data  # type: ignore[union-attr]
        stored.data[shard] = data
        if mentioning is None or mentioning(data):
            fold.add_shard(data)
            parsed.add(shard)
    if only is not None or mentioning is not None:
        stored.loaded = frozenset(parsed)
    return stored


def save(store: BlobStore, stored: Stored, fold: Fold, *, now_ns: int) -> None:
    """Write `fold` as the new snapshot, if the head is still `stored`'s (else
    PreconditionFailed, and nothing changed). `stored` must hold every shard's bytes."""
    keys: dict[str, str] = {}
    width = width_for(len(fold.records))
    if stored.loaded is not None:  # the shards not in the fold stay as they are
        keys = {shard: key for shard, key in stored.keys.items() if shard not in stored.loaded}
        width = stored.width
    new: list[tuple[str, bytes]] = []
    for shard, data in fold.shards(width).items():
        if stored.data.get(shard) == data:
            keys[shard] = stored.keys[shard]
        else:
            name = shard or "all"
            keys[shard] = f"{SHARDS}{now_ns:020d}-{secrets.token_hex(4)}-{name}.json"
            new.append((keys[shard], data))
    _each(lambda item: store.put(item[0], item[1], if_none_match=True), new)
    try:
        if stored.etag is None:
            store.put(SNAPSHOT, fold.head(keys, width), if_none_match=True)
        else:
            store.put(SNAPSHOT, fold.head(keys, width), if_match=stored.etag)
    except PreconditionFailed:
        _each(lambda item: store.delete(item[0]), new)  # ours, never pointed to
        raise
    kept = set(keys.values())
    _each(store.delete, [key for key in stored.keys.values() if key not in kept])
    orphans = [
        key
        for key in store.list(SHARDS)
        if key not in kept and now_ns - shard_ns(key) > ORPHAN_SECONDS * 1e9
    ]
    _each(store.delete, orphans)


def _load_single(head: dict[str, Any], etag: str, hasher: Callable[[str], str]) -> Stored:
    fold = Fold.from_head(head, hasher)
    fold.records = {row[1]: Subscriber(*row) for row in head["subscribers"]}
    return Stored(fold, etag, erased=frozenset(head["erased"]))


def unreferenced(store: BlobStore) -> list[str]:
    """Shards that the current head does not point to (for erasure to check)."""
    blob = store.get(SNAPSHOT)
    kept = set(json.loads(blob.data).get("shards", {}).values()) if blob else set()
    return [key for key in store.list(SHARDS) if key not in kept]


def shard_ns(key: str) -> int:
    """When a shard was written (its key's time part, nanoseconds)."""
    return int(key[len(SHARDS) :].split("-", 1)[0])


def _each(action: Callable[[_T], object], items: list[_T]) -> None:
    """`action` on each item, a few at a time (S3 round trips add up)."""
    if len(items) < 4:
        for item in items:
            action(item)
        return
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(action, items))
