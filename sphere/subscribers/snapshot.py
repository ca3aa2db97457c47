"""The snapshot in the store: a small head and shards of records, by address hash.

    subscribers/snapshot.json      the head: folded change keys, erased hashes, key
                                   fingerprints, each shard's key, and its generation
    subscribers/shards/<ns>-<random>-on-<generation>-<hh>.json
                                   the records (and pending suppressions) whose address's
                                   SHA-256 starts with `hh`, written for a head built on the
                                   named generation; never rewritten (one shard, `all`, for a
                                   small list; 16 or 256 as it grows: `fold.width_for`)

One address costs the head and one shard, not the whole list. A shard is written under a new
key whenever its contents change, and the head is then swapped in with a conditional write: so
a head always points at shards that were complete before it was written.

Which shards may go. Every head has a random generation, and every shard names the generation
of the head it was built on. A head is written only over the head it was built on (if-match),
and generations never repeat, so a shard built on an older generation than the current head's
can never become current. A shard may therefore be deleted, by any process, only when the
current head does not point to it and it was not built on the current generation (a
compaction or erasure still running may be about to make it current). No clock is trusted,
and no answer that a write failed: a lost reply may hide a write that landed.
"""

from __future__ import annotations

import functools
import json
import re
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sphere.errors import PreconditionFailed
from sphere.store.blobs import BlobStore, get_many, parsed
from sphere.subscribers.fold import FORMAT, INDEX, Fold, shard_of, width_for
from sphere.subscribers.model import Subscriber

SNAPSHOT = "subscribers/snapshot.json"
SHARDS = "subscribers/shards/"
_T = TypeVar("_T")
_SHARD_KEY = re.compile(r"(\d+)-[0-9a-f]+-(?:on-([0-9a-z]+)-)?\w+\.json")
NO_HEAD = "none"  # the generation a shard names when there was no head to build on


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
    generation: str = NO_HEAD  # the head's (a new shard names it as the head it was built on)


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
    head = parse_head(store, blob.data)
    if head.get("format") == 1:  # one file, from before shards: the next compaction converts it
        return _load_single(store, head, blob.etag, hasher)
    keys: dict[str, str] = head["shards"]
    width = head["width"]
    wanted = [shard_of(only, width)] if only is not None else sorted(keys)
    wanted = [shard for shard in wanted if shard in keys]
    blobs = list(get_many(store, [keys[shard] for shard in wanted], workers=16))
    if any(b is None for b in blobs):
        return None
    fold = parsed(store, SNAPSHOT, lambda: Fold.from_head(head, hasher))
    stored = Stored(
        fold, blob.etag, keys, erased=frozenset(head["erased"]), width=width,
        generation=head.get("generation", NO_HEAD),
    )  # fmt: skip
    read: set[str] = set()
    for shard, shard_blob in zip(wanted, blobs, strict=True):
        data = shard_blob.data  # type: ignore[union-attr]
        stored.data[shard] = data
        if shard.startswith(INDEX):  # derived from the records: `save` compares it
            parsed(store, keys[shard], functools.partial(_index_rows, data))
            continue
        if mentioning is None or mentioning(data):
            parsed(store, keys[shard], functools.partial(fold.add_shard, data))
            read.add(shard)
    if only is not None or mentioning is not None:
        stored.loaded = frozenset(read)
    return stored


@dataclass
class Found:
    """What the snapshot says of an id: its address (None when no record has it), and the
    change keys the snapshot folded (the caller looks for the id in the others)."""

    address: str | None
    folded: list[str]
    indexed: bool = True  # False: a snapshot from before the id index (read it whole)


def find_id(store: BlobStore, subscriber_id: str) -> Found | None:
    """Where the snapshot keeps `subscriber_id`: one index shard, then one address shard.
    None if a shard vanished since the head was read (a newer snapshot: read again)."""
    blob = store.get(SNAPSHOT)
    if blob is None:
        return Found(None, [])
    head = parse_head(store, blob.data)
    keys: dict[str, str] = head.get("shards", {})
    index = [shard for shard in keys if shard.startswith(INDEX)]
    if head["format"] == 1 or (not index and keys):
        return Found(None, head["folded"], indexed=False)
    width = len(index[0]) - len(INDEX) if index else 0
    key = keys.get(INDEX + shard_of(subscriber_id, width))
    if key is None:
        return Found(None, head["folded"])
    if (found := store.get(key)) is None:
        return None
    rows = parsed(store, key, functools.partial(_index_rows, found.data))
    if (hh := rows.get(subscriber_id)) is None or (key := keys.get(hh[: head["width"]])) is None:
        return Found(None, head["folded"])
    if (shard := store.get(key)) is None:
        return None
    records = parsed(store, key, lambda: json.loads(shard.data)["subscribers"])
    address = next((str(row[1]) for row in records if row[0] == subscriber_id), None)
    return Found(address, head["folded"])


def _index_rows(data: bytes) -> dict[str, str]:
    rows = json.loads(data)["ids"]
    if not all(isinstance(row, list) and len(row) == 2 for row in rows):
        raise ValueError("an id index row is not [id, shard]")
    return dict(rows)


def parse_head(store: BlobStore, data: bytes) -> dict[str, Any]:
    """The head's JSON, checked for what every reader needs; DamagedObject if it is not."""

    def parse() -> dict[str, Any]:
        head = json.loads(data)
        if head.get("format") not in (1, FORMAT):
            raise ValueError(f"unknown format {head.get('format')!r}")
        if head["format"] == FORMAT and not (
            isinstance(head["shards"], dict) and isinstance(head["width"], int)
        ):
            raise ValueError("no shards")
        if not isinstance(head["folded"], list) or not isinstance(head["erased"], list):
            raise ValueError("no folded changes")
        return dict(head)

    return parsed(store, SNAPSHOT, parse)


def save(store: BlobStore, stored: Stored, fold: Fold, *, now_ns: int) -> None:
    """Write `fold` as the new snapshot, if the head is still `stored`'s (else
    PreconditionFailed, and the head is not ours). `stored` must hold every shard's bytes.

    Shards are deleted only by the rule in the module docstring, after the head is read or
    written: never on the word of a failed write alone.
    """
    keys: dict[str, str] = {}
    width = width_for(len(fold.records))
    if stored.loaded is not None:  # the shards not in the fold stay as they are
        keys = {shard: key for shard, key in stored.keys.items() if shard not in stored.loaded}
        width = stored.width
    new: list[tuple[str, bytes]] = []
    shards = fold.shards(width)
    if stored.loaded is None:  # the whole list: its id index too (a partial fold keeps it)
        shards.update(fold.index())
    for shard, data in shards.items():
        if stored.data.get(shard) == data:
            keys[shard] = stored.keys[shard]
        else:
            name = shard or "all"
            keys[shard] = (
                f"{SHARDS}{now_ns:020d}-{secrets.token_hex(4)}-on-{stored.generation}-{name}.json"
            )
            new.append((keys[shard], data))
    _each(lambda item: store.put(item[0], item[1], if_none_match=True), new)
    generation = secrets.token_hex(8)
    head = fold.head(keys, width, generation)
    try:
        if stored.etag is None:
            store.put(SNAPSHOT, head, if_none_match=True)
        else:
            store.put(SNAPSHOT, head, if_match=stored.etag)
    except PreconditionFailed:
        sweep(store)  # ours go if the current head neither points to them nor builds on them
        raise
    sweep(store, head=(set(keys.values()), generation))


def sweep(store: BlobStore, *, head: tuple[set[str], str] | None = None) -> int:
    """Delete the shards that can never be current (the rule in the module docstring): those
    the current head does not point to and that were built on another generation. `head`: the
    current head's shard keys and generation, when the caller has just written it."""
    if head is None:
        blob = store.get(SNAPSHOT)
        if blob is None:
            return 0
        current = parse_head(store, blob.data)
        head = set(current.get("shards", {}).values()), current.get("generation", NO_HEAD)
    referenced, generation = head
    dead = [
        key for key in store.list(SHARDS) if key not in referenced and built_on(key) != generation
    ]
    _each(store.delete, dead)
    return len(dead)


def built_on(key: str) -> str | None:
    """The generation a shard was built on (None for shards from before generations)."""
    found = _SHARD_KEY.fullmatch(key[len(SHARDS) :])
    return found.group(2) if found else None


def _load_single(
    store: BlobStore, head: dict[str, Any], etag: str, hasher: Callable[[str], str]
) -> Stored:
    def parse() -> Fold:
        fold = Fold.from_head(head, hasher)
        fold.records = {row[1]: Subscriber(*row) for row in head["subscribers"]}
        return fold

    return Stored(parsed(store, SNAPSHOT, parse), etag, erased=frozenset(head["erased"]))


def _each(action: Callable[[_T], object], items: list[_T]) -> None:
    """`action` on each item, a few at a time (S3 round trips add up)."""
    if len(items) < 4:
        for item in items:
            action(item)
        return
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(action, items))
