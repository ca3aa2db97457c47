"""What readers' mail servers and readers did with one issue: delivered, bounced, complained,
unsubscribed through its links. Counted per issue, by subscriber id, never by address.

Store layout, per issue (under the campaign's own prefix, beside its ledger):

    campaigns/<slug>/feedback/ses/<run>-<seq>.json      one object per feedback sync that saw
                                                        this issue's SES events: the ids that
                                                        were delivered, bounced (hard, soft),
                                                        complained; never rewritten
    campaigns/<slug>/feedback/unsubscribed/<id>.json    one per reader who unsubscribed through
                                                        this issue's link or mailto

`sphere feedback sync` writes the first (SES tags each message with its campaign and the
reader's opaque id, sphere/send/ses.py); the unsubscribe endpoint and the sync (mailed
unsubscribes) write the second, from the issue the signed token names (sphere.mail.tokens). A
reader counts once per kind however often SES reports them, so counts are distinct readers,
and the rates are shares of the messages the transport accepted. An event without those tags
(an older send, SES identity notifications) is counted against no issue. As in the ledger,
erasing a person leaves nothing here to remove: an id is opaque once the record that tied it
to an address is gone.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sphere.errors import PreconditionFailed

if TYPE_CHECKING:
    from sphere.store.blobs import BlobStore

KINDS = ("delivered", "bounced_hard", "bounced_soft", "complained")
_NOTICE_KINDS = {  # sphere.feedback.Notice.kind -> ours
    "delivery": "delivered",
    "permanent": "bounced_hard",
    "transient": "bounced_soft",
    "complaint": "complained",
}


def prefix(slug: str) -> str:
    return f"campaigns/{slug}/feedback/"


@dataclass
class IssueFeedback:
    """One issue's feedback, as distinct readers per kind."""

    delivered: int = 0
    bounced_hard: int = 0
    bounced_soft: int = 0
    complained: int = 0
    unsubscribed: int = 0
    delivery_events: bool = False  # whether SES delivery events reach us at all (for this issue)

    def rates(self, accepted: int) -> dict[str, float | None]:
        """Each count as a share of the messages accepted (None when none were)."""
        names = (*KINDS, "unsubscribed")
        return {name: (getattr(self, name) / accepted if accepted else None) for name in names}


@dataclass
class Collector:
    """Gathers one sync's events per issue; `flush` writes one object per issue."""

    store: BlobStore
    _found: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    _run: str = field(default_factory=lambda: f"{time.time_ns():020d}-{secrets.token_hex(3)}")
    _seq: int = 0

    def add(self, campaign: str, kind: str, reader: str) -> None:
        """Note an event of `kind` (a Notice's) for `reader` (an opaque id, or SES's own
        feedback id when the message carried none) of the issue `campaign`."""
        ours = _NOTICE_KINDS.get(kind)
        if campaign and reader and ours:
            self._found.setdefault(campaign, {}).setdefault(ours, set()).add(reader)

    def flush(self) -> None:
        """Write what was noted since the last flush (before the events leave the queue)."""
        for slug, kinds in self._found.items():
            key = f"{prefix(slug)}ses/{self._run}-{self._seq:05d}.json"
            self._seq += 1
            body = json.dumps({kind: sorted(ids) for kind, ids in kinds.items()})
            self.store.put(key, body.encode(), if_none_match=True)
        self._found.clear()


def record_unsubscribe(store: BlobStore, slug: str, subscriber_id: str, *, at: str) -> None:
    """Count `subscriber_id`'s unsubscribe against the issue `slug` (once: a repeat is kept
    as the first)."""
    if not slug:
        return
    key = f"{prefix(slug)}unsubscribed/{subscriber_id}.json"
    with contextlib.suppress(PreconditionFailed):  # counted already: the first stands
        store.put(key, json.dumps({"at": at}).encode(), if_none_match=True)


def read(store: BlobStore, slug: str) -> IssueFeedback:
    """The issue's feedback so far: one listing, and a read of each sync's object."""
    from sphere.store.blobs import get_many

    keys = store.list(prefix(slug))
    ses = [key for key in keys if key.startswith(prefix(slug) + "ses/")]
    seen: dict[str, set[str]] = {kind: set() for kind in KINDS}
    for blob in get_many(store, ses):
        if blob is not None:
            _merge(seen, json.loads(blob.data))
    return IssueFeedback(
        delivered=len(seen["delivered"]),
        bounced_hard=len(seen["bounced_hard"]),
        bounced_soft=len(seen["bounced_soft"]),
        complained=len(seen["complained"]),
        unsubscribed=sum(1 for key in keys if key.startswith(prefix(slug) + "unsubscribed/")),
        delivery_events=bool(seen["delivered"]),
    )


def _merge(seen: dict[str, set[str]], body: Any) -> None:
    if not isinstance(body, dict):
        return
    for kind in KINDS:
        ids = body.get(kind)
        if isinstance(ids, list):
            seen[kind].update(str(item) for item in ids)


__all__ = ["KINDS", "Collector", "IssueFeedback", "read", "record_unsubscribe"]
