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

import json
from collections.abc import Callable

from sphere.errors import StoreError
from sphere.subscribers.events import CreationEvent, Event, decode
from sphere.subscribers.model import COLUMNS, SUPPRESSED, Status, Subscriber

SNAPSHOT = "subscribers/snapshot.json"
_FORMAT = 1


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
    def load(cls, data: bytes | None, hasher: Callable[[str], str]) -> Fold:
        """The fold stored in a snapshot (or an empty one)."""
        fold = cls(hasher)
        if data is None:
            return fold
        snapshot = json.loads(data)
        if snapshot.get("format") != _FORMAT:
            raise StoreError(f"{SNAPSHOT}: unknown format {snapshot.get('format')!r}")
        fold.erased = set(snapshot["erased"])
        fold.key_checks = set(snapshot.get("key_checks", []))
        fold.folded = snapshot["folded"]
        fold.newest = snapshot.get("newest", 0)
        fold.suppressions = {e: (s, at) for e, s, at in snapshot.get("suppressions", [])}
        fold.records = {row[1]: Subscriber(*row) for row in snapshot["subscribers"]}
        return fold

    def dump(self) -> bytes:
        """The snapshot's bytes: one subscriber per line, so a diff of two is readable.

        Built from encoded rows joined once: a list of 100,000 rows would otherwise be copied
        as text, again as a formatted string and again as bytes (a third more peak memory).
        """
        head = {
            "format": _FORMAT,
            "folded": self.folded,
            "newest": self.newest,
            "erased": sorted(self.erased),
            "key_checks": sorted(self.key_checks),
            "suppressions": sorted([e, s, at] for e, (s, at) in self.suppressions.items()),
        }
        opening = json.dumps(head, ensure_ascii=False)[:-1]
        parts = [f'{opening}, "columns": {json.dumps(COLUMNS)}, "subscribers": [\n'.encode()]
        for index, record in enumerate(sorted(self.records.values(), key=lambda r: r.email)):
            row = json.dumps(record.row(), ensure_ascii=False, separators=(",", ":")).encode()
            parts.append(b",\n" + row if index else row)
        parts.append(b"\n]}\n")
        return b"".join(parts)

    def apply_object(self, data: bytes) -> None:
        """Apply the events of one change object, in order."""
        for event in decode(data):
            self.apply(event)

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
