"""Change events, the objects that hold them, and the keys those objects are stored under.

A change object is JSON lines, one event each; its key sorts by time, so the fold applies
changes in key order. Keys come from a hybrid logical clock (`ChangeKeys`): never older than
the newest key the writer has read, so a change sorts after every change its writer saw,
whatever the machines' clocks say (docs/subscribers.md, "Ordering").
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from typing import Literal, NotRequired, TypedDict

from sphere.clock import SYSTEM, Clock, utc
from sphere.store.blobs import BlobStore, parsed

CHANGES = "subscribers/changes/"
# How far ahead of this machine's clock a key it has read may pull its own keys. A writer
# whose clock runs further ahead writes keys "from the future": the others do not follow them
# (their keys would all be in the future too), and compaction folds them at once rather than
# waiting for time to catch up (docs/subscribers.md, "Ordering").
MAX_DRIFT_SECONDS = 300.0


class CreationEvent(TypedDict):
    """`add`, `suppress` (an import of a suppression list) or `confirm`: they make a record."""

    op: Literal["add", "suppress", "confirm"]
    id: str
    email: str
    status: str
    at: str
    consent: list[str]  # [when, method, source]
    name: NotRequired[str]
    evidence: NotRequired[dict[str, str]]


class StatusEvent(TypedDict):
    """An unsubscribe, bounce or complaint (kept even for an address not on the list yet)."""

    op: Literal["status"]
    email: str
    status: str
    at: str


class EraseEvent(TypedDict):
    """An erasure: only the keyed hash of the address, and the key's fingerprint."""

    op: Literal["erase"]
    hash: str
    key_check: NotRequired[str]


Event = CreationEvent | StatusEvent | EraseEvent


def creation_event(
    op: Literal["add", "suppress", "confirm"],
    email: str,
    *,
    id: str,  # noqa: A002 - the event's field; SubscriberList.id_for gives it
    at: str,
    status: str,
    name: str = "",
    consent: tuple[str, str, str],
    evidence: dict[str, str] | None = None,
) -> CreationEvent:
    """An add, suppress or confirm event (they create the record when it is missing)."""
    event = CreationEvent(op=op, id=id, email=email, status=status, at=at, consent=list(consent))
    if name:
        event["name"] = name
    if evidence:
        event["evidence"] = evidence
    return event


def status_event(email: str, status: str, *, at: str) -> StatusEvent:
    """An unsubscribe, bounce or complaint."""
    return StatusEvent(op="status", email=email, status=status, at=at)


def encode(events: Iterable[Event]) -> bytes:
    """A change object's bytes: one compact JSON event per line."""
    lines = (json.dumps(e, ensure_ascii=False, separators=(",", ":")) for e in events)
    return ("\n".join(lines) + "\n").encode()


def decode(data: bytes) -> list[Event]:
    """The events of a change object, in order."""
    try:  # one JSON document: a single parse of a 5,000-row batch, not 5,000 parses
        events: list[Event] = json.loads(b"[" + data.strip().replace(b"\n", b",") + b"]")
    except ValueError:  # blank lines or the like: line by line
        events = [json.loads(line) for line in data.splitlines() if line.strip()]
    return events


# What each kind of event must hold, so that a damaged object is refused before it is folded.
_FIELDS = {
    "add": ("id", "email", "status", "at", "consent"),
    "suppress": ("id", "email", "status", "at", "consent"),
    "confirm": ("id", "email", "status", "at", "consent"),
    "status": ("email", "status", "at"),
    "erase": ("hash",),
}


def read_change(store: BlobStore, key: str, data: bytes) -> list[Event]:
    """The events of the change object at `key`; DamagedObject naming it when its bytes are
    not a change Sphere wrote (empty, truncated, not UTF-8, an event missing a field)."""

    def parse() -> list[Event]:
        if not data.strip():
            raise ValueError("empty: no event in it")
        events = decode(data)
        for number, event in enumerate(events, 1):
            fields = _FIELDS.get(event.get("op"), ()) if isinstance(event, dict) else ()
            if not fields or any(not isinstance(event.get(f), str | list) for f in fields):
                raise ValueError(f"event {number} is not a change Sphere writes")
        return events

    return parsed(store, key, parse)


def key_ns(key: str) -> int:
    """The time part of a change key, in nanoseconds since the epoch."""
    return int(key[len(CHANGES) :].split("-", 1)[0])


class ChangeKeys:
    """Change keys from a hybrid logical clock: later than the clock and than all keys seen.

    A key is `<ns>-<random>.jsonl` with `ns` = max(the clock, the newest key seen + 1): a
    writer whose clock is behind still writes keys after every change it read, so the order
    of keys respects what each writer knew. The random part keeps keys unique across writers.
    """

    def __init__(self, clock: Clock = SYSTEM):
        self.clock = clock
        self.newest = 0

    def saw(self, ns: int) -> None:
        """Remember a key (or a snapshot's newest key) that this writer has read. One from
        further ahead of this clock than MAX_DRIFT_SECONDS is not followed: a machine whose
        clock runs hours fast must not push every writer's keys out of compaction's reach."""
        if ns <= self.now_ns() + int(MAX_DRIFT_SECONDS * 1e9):
            self.newest = max(self.newest, ns)

    def new(self) -> str:
        """A fresh change key."""
        self.newest = max(int(self.clock.now() * 1e9), self.newest + 1)
        return f"{CHANGES}{self.newest:020d}-{secrets.token_hex(6)}.jsonl"

    def now_ns(self) -> int:
        """The clock in nanoseconds (compaction's settle time counts from it)."""
        return int(self.clock.now() * 1e9)

    def timestamp(self) -> str:
        """The clock's time as the records keep it: ISO 8601 UTC, to the second."""
        return utc(self.clock).strftime("%Y-%m-%dT%H:%M:%SZ")
