"""The campaign ledger: who an issue goes to, and what became of each attempt, in the store.

Store layout, per issue (under the store's root or S3 prefix):

    campaigns/<slug>/recipients/<n>.json    the frozen list: subscriber ids, in chunks
    campaigns/<slug>/campaign.json          written last, exclusively: the list is complete
    campaigns/<slug>/log/<run>-<seq>.jsonl  one small object per batch, never rewritten
    campaigns/<slug>/lease.json             who is sending now (sphere/send/lease.py)

The list is frozen at the first start: people who subscribe later wait for the next issue.
The ledger holds subscriber ids and never an address or a name: a resume looks them up in the
subscriber list just before each batch, so someone who unsubscribed or was erased since the
start is skipped, and erasing a person leaves nothing of them here to remove.

Before a batch is handed to the transport, an `attempt` object names its recipients; after,
an `outcome` object says what became of each. A recipient attempted but with no outcome (the
process died in between) may have been mailed, so a resume counts them as unknown and sends
to them again only when asked (`--resend-unknown`).
"""

from __future__ import annotations

import functools
import json
import secrets
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sphere.clock import SYSTEM, Clock
from sphere.errors import PreconditionFailed, StoreError

if TYPE_CHECKING:
    from sphere.store.blobs import BlobStore

CHUNK = 10_000  # ids per frozen-list object
# What a recipient's last record says. `released`: attempted but never handed over (the run
# stopped first), so it is still to send; `skipped`: no longer subscribed when their turn came.
DONE = frozenset({"accepted", "failed", "skipped"})
STATES = ("accepted", "failed", "skipped", "unknown", "released")
_FORMAT = 1


@dataclass
class LedgerState:
    """The frozen list and, per recipient index, the last thing the ledger says of them."""

    ids: list[str]
    subject: str = ""
    created: str = ""
    last: dict[int, str] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Recipients by state: accepted, failed, skipped, unknown, and pending (the rest)."""
        found = Counter(state for state in self.last.values() if state != "released")
        counts = {state: found.get(state, 0) for state in ("accepted", "failed", "skipped")}
        counts["unknown"] = found.get("unknown", 0)
        counts["pending"] = len(self.ids) - sum(counts.values())
        return counts

    def todo(self, *, resend_unknown: bool = False) -> list[int]:
        """The indices still to send, in list order."""
        return [
            index
            for index in range(len(self.ids))
            if (state := self.last.get(index)) is None
            or state == "released"
            or (resend_unknown and state == "unknown")
        ]


class Ledger:
    """One issue's ledger in a blob store."""

    def __init__(self, store: BlobStore, slug: str, *, clock: Clock = SYSTEM):
        self.store = store
        self.slug = slug
        self.prefix = f"campaigns/{slug}/"
        self.clock = clock
        self._run = f"{time.time_ns():020d}-{secrets.token_hex(3)}"
        self._seq = 0

    @property
    def manifest_key(self) -> str:
        return self.prefix + "campaign.json"

    def freeze(self, ids: list[str], *, subject: str) -> LedgerState:
        """Write the recipient list, once; if it already exists, return it as it is."""
        existing = self.load()
        if existing is not None:
            return existing
        chunks = [ids[start : start + CHUNK] for start in range(0, len(ids), CHUNK)]
        for number, chunk in enumerate(chunks):
            self.store.put(f"{self.prefix}recipients/{number:05d}.json", _dumps({"ids": chunk}))
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.clock.now()))
        manifest = {
            "format": _FORMAT,
            "slug": self.slug,
            "subject": subject,
            "created": created,
            "recipients": len(ids),
            "chunks": len(chunks),
        }
        try:
            self.store.put(self.manifest_key, _dumps(manifest), if_none_match=True)
        except PreconditionFailed:  # another process froze it first (outside the lease)
            state = self.load()
            if state is None:
                raise StoreError(f"{self.manifest_key} vanished while being read") from None
            return state
        return LedgerState(ids=list(ids), subject=subject, created=created)

    def load(self) -> LedgerState | None:
        """The ledger as it stands, or None before the first start."""
        from sphere.store.blobs import get_many, parsed

        blob = self.store.get(self.manifest_key)
        if blob is None:
            return None
        manifest = parsed(self.store, self.manifest_key, lambda: _manifest(blob.data))
        keys = [f"{self.prefix}recipients/{n:05d}.json" for n in range(manifest["chunks"])]
        ids: list[str] = []
        for key, chunk in zip(keys, get_many(self.store, keys), strict=True):
            if chunk is None:
                raise StoreError(f"{key} is missing from {self.store.url}: the ledger is damaged")
            ids.extend(parsed(self.store, key, functools.partial(_ids, chunk.data)))
        state = LedgerState(ids=ids, subject=manifest["subject"], created=manifest["created"])
        logs = self.store.list(self.prefix + "log/")
        for key, log in zip(logs, get_many(self.store, logs), strict=True):
            if log is not None:
                parsed(self.store, key, functools.partial(_apply, state.last, log.data, len(ids)))
        return state

    def attempt(self, indices: Iterable[int]) -> None:
        """Record that these recipients are about to be handed to the transport."""
        self._write([{"op": "attempt", "i": list(indices)}])

    def outcomes(self, records: Iterable[tuple[int, str, str, str]]) -> None:
        """Record (index, state, message id, detail) for each recipient of a batch."""
        lines = []
        for index, state, message_id, detail in records:
            line: dict[str, Any] = {"op": "outcome", "i": index, "s": state}
            if message_id:
                line["m"] = message_id
            if detail:
                line["d"] = detail
            lines.append(line)
        if lines:
            self._write(lines)

    def _write(self, lines: list[dict[str, Any]]) -> None:
        key = f"{self.prefix}log/{self._run}-{self._seq:07d}.jsonl"
        self._seq += 1
        text = "\n".join(json.dumps(line, separators=(",", ":")) for line in lines) + "\n"
        self.store.put(key, text.encode(), if_none_match=True)


def _apply(last: dict[int, str], data: bytes, recipients: int) -> None:
    """Fold one log object into the last state per recipient (ValueError, KeyError or
    TypeError when it is not one Sphere wrote: the whole object is checked first, so a damaged
    one changes nothing)."""
    records = [json.loads(line) for line in data.decode().splitlines()]
    if not records:
        raise ValueError("empty: no record in it")
    changes: list[tuple[int, str]] = []
    for record in records:
        if record["op"] == "attempt":
            changes.extend((index, "unknown") for index in record["i"])  # until an outcome
        elif record["op"] == "outcome" and record["s"] in STATES:
            changes.append((record["i"], record["s"]))
        else:
            raise ValueError(f"a record is neither an attempt nor an outcome: {record['op']!r}")
    if any(not isinstance(index, int) or not 0 <= index < recipients for index, _ in changes):
        raise ValueError("it names a recipient the list does not have")
    last.update(changes)


def _manifest(data: bytes) -> dict[str, Any]:
    manifest = json.loads(data)
    if not isinstance(manifest["chunks"], int) or not isinstance(manifest["subject"], str):
        raise ValueError("its fields are not what Sphere writes")
    if not isinstance(manifest["created"], str):
        raise ValueError("its fields are not what Sphere writes")
    return dict(manifest)


def _ids(data: bytes) -> list[str]:
    ids = json.loads(data)["ids"]
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise ValueError("its ids are not a list of strings")
    return ids


def _dumps(value: dict[str, Any]) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


__all__ = ["DONE", "STATES", "Ledger", "LedgerState"]
