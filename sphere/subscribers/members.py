"""Look-ups by address and by opaque id, and the few changes made one person at a time.

The web endpoints, `sphere feedback` and (through the bounce guard) sending reach the list
through this class, so that they share one way of finding and changing a person. It speaks
of people by opaque id or by address, never logs either, and writes only when something
changes (a repeated unsubscribe writes nothing).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sphere.errors import PreconditionFailed
from sphere.subscribers.erasure import HELD_REQUESTS

if TYPE_CHECKING:
    from sphere.clock import Clock
    from sphere.settings import Settings
    from sphere.subscribers.list import SubscriberList
    from sphere.subscribers.model import Subscriber

SUPPRESSED = frozenset({"unsubscribed", "bounced", "complained"})
_THROTTLE = "web/confirmations/"  # one small object per address hash: when we last wrote
# A request from an address erased at its owner's wish: the list refuses to add it back except
# by confirmation, so the request waits here (one object per opaque id) until confirmed, and
# is removed then, or once its link has expired.
_PENDING = HELD_REQUESTS  # erasure removes them too


class Members:
    """Looks people up and changes their status, through the subscriber list's public API."""

    def __init__(self, subscribers: SubscriberList):
        self.subscribers = subscribers
        self.clock: Clock = subscribers.clock  # tests set the list's clock

    @classmethod
    def open(cls, settings: Settings) -> Members:
        from sphere.subscribers.list import open_list

        return cls(open_list(settings))

    # --- reading ---------------------------------------------------------------------------

    def by_id(self, subscriber_id: str) -> Subscriber | None:
        """The record with this opaque id (or an erased person's waiting request), or None."""
        record = self.subscribers.find_id(subscriber_id)  # an index shard, not the list
        return record if record is not None else self._waiting(subscriber_id)

    def _waiting(self, subscriber_id: str) -> Subscriber | None:
        from sphere.subscribers.model import Subscriber

        blob = self.subscribers.store.get(f"{_PENDING}{subscriber_id}.json")
        if blob is None:
            return None
        request = json.loads(blob.data)
        at, method, source = request["consent"]
        return Subscriber(
            subscriber_id, request["email"], request.get("name", ""), "pending", at, at,
            at, method, source, request.get("evidence"),
        )  # fmt: skip

    def by_address(self, address: str) -> tuple[Subscriber | None, bool]:
        """The record of a normalised address, and whether the address was erased."""
        fold = self.subscribers.lookup(address)  # one shard of the snapshot, not the list
        return fold.records.get(address), fold.is_erased(address)

    # --- writing ---------------------------------------------------------------------------

    def set_status(self, record: Subscriber, status: str) -> bool:
        """Mark the record `status` (unsubscribed, bounced, complained); False if it already was.

        A bounced or complained address stays so when the person also unsubscribes: the
        stronger reason to stop mailing them is kept.
        """
        if record.status == status or (status == "unsubscribed" and record.status in SUPPRESSED):
            return False
        from sphere.subscribers.events import status_event

        self.subscribers.append([status_event(record.email, status, at=self.now())])
        return True

    def add_pending(self, address: str, *, name: str, source: str, evidence: dict[str, str]) -> str:
        """Write a pending record for a new address (double opt-in started); return its id."""
        from sphere.subscribers.events import creation_event

        now = self.now()
        event = creation_event(
            "add", address, id=self.subscribers.id_for(address), at=now, status="pending",
            name=name, consent=(now, "form", source), evidence=evidence,
        )  # fmt: skip
        self.subscribers.append([event])
        return event["id"]

    def add_waiting(self, address: str, *, name: str, source: str, evidence: dict[str, str]) -> str:
        """Keep an erased address's request until it is confirmed; return its new id."""
        from sphere.subscribers.model import new_id

        subscriber_id, now = new_id(), self.now()
        request: dict[str, Any] = {"email": address, "name": name, "evidence": evidence}
        request.update(consent=[now, "form", source], at=self.clock.now())
        data = json.dumps(request, ensure_ascii=False).encode()
        self.subscribers.store.put(f"{_PENDING}{subscriber_id}.json", data, if_none_match=True)
        return subscriber_id

    def sweep_waiting(self, *, older_than: float) -> int:
        """Remove erased people's requests older than `older_than` seconds (links expired)."""
        store, removed = self.subscribers.store, 0
        for key in store.list(_PENDING):
            blob = store.get(key)
            if blob is not None and self.clock.now() - json.loads(blob.data)["at"] > older_than:
                store.delete(key)
                removed += 1
        return removed

    def confirm(self, record: Subscriber, *, source: str, evidence: dict[str, str]) -> None:
        """Subscribe the record: the person confirmed (the one way back from suppression)."""
        from sphere.subscribers.events import creation_event

        now = self.now()
        event = creation_event(
            "confirm", record.email, id=record.id, at=now, status="subscribed",
            name=record.name, consent=(now, "form", source), evidence=evidence,
        )  # fmt: skip
        self.subscribers.append([event])
        # NOTE: only once the confirmation is written may an erased person's request go.
        self.subscribers.store.delete(f"{_PENDING}{record.id}.json")

    def claim_mail(self, address: str, *, every: float) -> bool:
        """True, and remember it, if no confirmation went to `address` in the last `every` s.

        Kept as one object per keyed hash of the address (no address in the store's keys or
        data); a race between two requests is settled by a conditional write.
        """
        store = self.subscribers.store
        key = f"{_THROTTLE}{self.subscribers.hash(address)[:32]}.json"
        blob = store.get(key)
        now = self.clock.now()
        if blob is not None and now - float(json.loads(blob.data).get("at", 0)) < every:
            return False
        data = json.dumps({"at": now}).encode()
        try:
            if blob is None:
                store.put(key, data, if_none_match=True)
            else:
                store.put(key, data, if_match=blob.etag)
        except PreconditionFailed:
            return False  # another request claimed it a moment ago
        return True

    def now(self) -> str:
        return self.subscribers.now()


__all__ = ["SUPPRESSED", "Members"]
