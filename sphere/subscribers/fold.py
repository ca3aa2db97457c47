"""The fold: the list as of some change events, and its stored form, the snapshot.

The fold keys records by normalised address, so nobody is on the list twice, and applies the
rules that protect people itself, so they hold whichever writer wins a race:

- an `add` or an import never re-subscribes an unsubscribed, bounced or complained address;
  only a `confirm` (the person asking again) does;
- an unsubscribe, bounce or complaint for an address not on the list (yet) is kept as a
  suppression, and the record an add makes later starts suppressed: an unsubscribe wins over
  any add, in whatever order their keys sort;
- an erased address is never added back (only its keyed hash is kept, see `erasure`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from sphere.errors import StoreError
from sphere.subscribers.events import CreationEvent, Event
from sphere.subscribers.model import COLUMNS, SUPPRESSED, Status, Subscriber

FORMAT = 2  # a head and shards (1: one file)
INDEX = "i"  # the id index's shards are named with it in the head (address shards: hex only)


def shard_of(email: str, width: int) -> str:
    """Which shard holds an address: the first `width` hex digits of its SHA-256 (16**width
    shards; "" for one). A lookup reads only that one."""
    return hashlib.sha256(email.encode()).hexdigest()[:width]


def width_for(records: int) -> int:
    """How finely to shard a list: one object while small (a full read is one request),
    16 shards from 1,000 records, 256 from 16,000 (about 400 a shard at 100,000)."""
    return 0 if records < 1_000 else 1 if records < 16_000 else 2


class Fold:
    """The list as of some changes: records, pending suppressions, erased hashes, folded keys."""

    def __init__(self, hasher: Callable[[str], str]):
        self.records: dict[str, Subscriber] = {}
        # Unsubscribes, bounces and complaints of addresses not on the list: (status, at).
        self.suppressions: dict[str, tuple[str, str]] = {}
        self.erased: set[str] = set()
        self.key_checks: set[str] = set()  # fingerprints of the keys the erasures were made with
        self.folded: list[str] = []
        self.newest = 0  # the newest change key's time folded so far (for writers' clocks)
        self._hasher = hasher

    @classmethod
    def from_head(cls, head: dict[str, Any], hasher: Callable[[str], str]) -> Fold:
        """A fold with the snapshot head's bookkeeping and no records yet (see `add_shard`)."""
        fold = cls(hasher)
        fold.erased = set(head["erased"])
        fold.key_checks = set(head.get("key_checks", []))
        fold.folded = head["folded"]
        fold.newest = head.get("newest", 0)
        return fold

    def head(self, shards: dict[str, str], width: int, generation: str) -> bytes:
        """The snapshot head: what was folded and erased, where each shard is, and the
        head's generation (which shards built on it name: `snapshot`'s docstring)."""
        head = {
            "format": FORMAT,
            "generation": generation,
            "folded": self.folded,
            "newest": self.newest,
            "erased": sorted(self.erased),
            "key_checks": sorted(self.key_checks),
            "width": width,
            "shards": dict(sorted(shards.items())),
        }
        return json.dumps(head, ensure_ascii=False, indent=0).encode()

    def index(self) -> dict[str, bytes]:
        """The id index's shards, by shard id (`i` and the first hex digit of the id's
        SHA-256; one, `i`, for a small list): each id with the address shard its record is in
        (the first two hex digits of the address's SHA-256), and never the address itself, so
        an erasure has nothing to remove from it. A look-up by id reads one index shard and
        one address shard instead of the whole list."""
        width = 0 if len(self.records) < 1_000 else 1
        rows: dict[str, list[list[str]]] = {}
        for email, record in self.records.items():
            rows.setdefault(INDEX + shard_of(record.id, width), []).append(
                [record.id, shard_of(email, 2)]
            )
        return {
            shard: json.dumps({"ids": sorted(found)}, separators=(",", ":")).encode()
            for shard, found in sorted(rows.items())
        }

    def add_shard(self, data: bytes) -> None:
        """Add the records and suppressions of one shard."""
        shard = json.loads(data)
        self.records.update((row[1], Subscriber(*row)) for row in shard["subscribers"])
        self.suppressions.update((e, (s, at)) for e, s, at in shard["suppressions"])

    def shards(self, width: int) -> dict[str, bytes]:
        """Each non-empty shard's bytes, by shard id: one subscriber a line, sorted, so equal
        contents give equal bytes (compaction rewrites only the shards that changed).

        Built from encoded rows joined once: copying 100,000 rows as text, then as a
        formatted string, then as bytes would cost a third more peak memory.
        """
        rows: dict[str, list[bytes]] = {}
        for email in sorted(self.records):
            row = json.dumps(self.records[email].row(), ensure_ascii=False, separators=(",", ":"))
            rows.setdefault(shard_of(email, width), []).append(row.encode())
        held: dict[str, list[list[str]]] = {}
        for email, (status, at) in sorted(self.suppressions.items()):
            held.setdefault(shard_of(email, width), []).append([email, status, at])
        return {
            shard: b"".join(
                [
                    b'{"columns": ' + json.dumps(COLUMNS).encode() + b',\n"suppressions": ',
                    json.dumps(held.get(shard, []), ensure_ascii=False).encode(),
                    b',\n"subscribers": [\n',
                    b",\n".join(rows.get(shard, [])),
                    b"\n]}\n",
                ]
            )
            for shard in sorted(set(rows) | set(held))
        }

    def apply_events(self, events: list[Event], *, only: str | None = None) -> None:
        """Apply the events of one change object, in order (with `only`, those about that
        address and every erasure: a fold of one shard answers for the addresses in it)."""
        for event in events:
            if only is None or event["op"] == "erase" or event["email"] == only:
                self.apply(event)

    def erased_in(self, events: list[Event], *, only: str | None = None) -> set[str]:
        """The erased addresses that these events still name (bytes an erasure must remove:
        a change that landed after the erasure had scrubbed, from a slow writer). Not a person
        who came back by confirming: their events are theirs again. With `only` (a fold of one
        address), that address alone: the fold knows nothing of the others."""
        if not self.erased:
            return set()
        named = {event["email"] for event in events if event["op"] != "erase"}
        if only is not None:
            named &= {only}
        return {e for e in named if e not in self.records and self.is_erased(e)}

    def apply(self, event: Event) -> None:
        """Apply one event. Deterministic; applying the same object twice changes nothing more."""
        if event["op"] == "erase":
            self._erase(event["hash"], event.get("key_check"))
        elif event["op"] == "status":
            self._status(event["email"], event["status"], event["at"])
        elif event["op"] in ("add", "suppress", "confirm"):
            self._create(event)
        else:
            raise StoreError(f"unknown subscriber event {event['op']!r}")

    def _erase(self, digest: str, key_check: str | None) -> None:
        self.erased.add(digest)
        if key_check:
            self.key_checks.add(key_check)
        for email in [e for e in self.records if self._hasher(e) == digest]:
            del self.records[email]
        for email in [e for e in self.suppressions if self._hasher(e) == digest]:
            del self.suppressions[email]

    def _status(self, email: str, status: str, at: str) -> None:
        record = self.records.get(email)
        if record is not None:
            if record.status != status:
                record.status, record.updated = status, at
        elif status in SUPPRESSED and not self.is_erased(email):
            self.suppressions[email] = (status, at)

    def _create(self, event: CreationEvent) -> None:
        email, op = event["email"], event["op"]
        record = self.records.get(email)
        if op == "confirm":  # the person confirmed: the one way back from suppression
            self.suppressions.pop(email, None)
            if record is None:
                self.records[email] = new_record(event)
            else:
                record.status, record.updated = Status.SUBSCRIBED, event["at"]
                record.consent_at, record.consent_method, record.consent_source = event["consent"]
                record.consent_evidence = event.get("evidence")
        elif record is None:
            if self.is_erased(email):
                return
            record = self.records[email] = new_record(event)
            if (held := self.suppressions.pop(email, None)) is not None:
                record.status, record.updated = held  # unsubscribed before the add was read
        elif op == "suppress" and record.status not in SUPPRESSED:
            record.status, record.updated = event["status"], event["at"]

    def status_of(self, email: str) -> str | None:
        """The address's status, counting a suppression kept for it; None when unknown."""
        if (record := self.records.get(email)) is not None:
            return record.status
        held = self.suppressions.get(email)
        return held[0] if held else None

    def is_erased(self, email: str) -> bool:
        """Whether the address was erased (one keyed hash, only when anyone was erased)."""
        return bool(self.erased) and self._hasher(email) in self.erased


def new_record(event: CreationEvent) -> Subscriber:
    """The record a creation event makes."""
    at, method, source = event["consent"]
    return Subscriber(
        event["id"], event["email"], event.get("name", ""), event["status"], event["at"],
        event["at"], at, method, source, event.get("evidence"),
    )  # fmt: skip
