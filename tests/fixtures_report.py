"""A subscriber list with a history, and issues with feedback, for the report's tests and
benchmarks/report.py: written through the list's own events and the library's own records.

People join over `months` months before `today`; a share of them later unsubscribe, bounce or
complain (a status change at a later date). Each issue's campaign is a real ledger manifest, a
completion record (sphere.records) and feedback written as `sphere feedback sync` and the
endpoint write it (sphere.issue_feedback).
"""

from __future__ import annotations

import datetime as dt
import json
import random

from fixtures_clock import ManualClock

from sphere import records
from sphere.issue_feedback import Collector, record_unsubscribe
from sphere.send.ledger import Ledger
from sphere.store.blobs import BlobStore
from sphere.subscribers.events import creation_event, status_event
from sphere.subscribers.list import SubscriberList

LEAVERS = (("unsubscribed", 0.12), ("bounced", 0.03), ("complained", 0.005))


def _stamp(day: dt.datetime) -> str:
    return day.strftime("%Y-%m-%dT%H:%M:%SZ")


def make_list(
    subscribers: SubscriberList, *, people: int, months: int, today: dt.date, seed: int = 7
) -> dict[str, str]:
    """Add `people` with a history; return {address: subscriber id} of those still subscribed."""
    rng = random.Random(seed)
    end = dt.datetime.combine(today, dt.time(12), dt.UTC)
    span = months * 30 * 86400
    events, left, ids = [], [], {}
    for n in range(people):
        email = f"p{n:06d}@example.org"
        joined = end - dt.timedelta(seconds=span * rng.random() ** 0.7)
        event = creation_event(
            "add", email, id=subscribers.id_for(email), at=_stamp(joined), status="subscribed",
            consent=(_stamp(joined), "import", "test"),
        )  # fmt: skip
        events.append(event)
        roll, status = rng.random(), ""
        for name, share in LEAVERS:
            if roll < share:
                status = name
                break
            roll -= share
        if status:
            gone = joined + (end - joined) * rng.random()
            left.append(status_event(email, status, at=_stamp(gone)))
        else:
            ids[email] = event["id"]
    for start in range(0, len(events), 20_000):
        subscribers.append(events[start : start + 20_000])
    for start in range(0, len(left), 20_000):
        subscribers.append(left[start : start + 20_000])
    return ids


def make_issue(
    store: BlobStore,
    slug: str,
    ids: list[str],
    *,
    sent: dt.datetime,
    seed: int,
    rates: tuple[float, float, float, float] = (0.006, 0.003, 0.0008, 0.004),
) -> None:
    """A finished campaign of `slug` to `ids`, sent on `sent`, with feedback at about these
    rates (hard bounces, soft bounces, complaints, unsubscribes) and a delivery for the rest."""
    rng = random.Random(seed)
    ledger = Ledger(store, slug, clock=ManualClock(sent.timestamp()))
    ledger.freeze(ids, subject=f"Issue {slug}")
    record = {"slug": slug, "subject": f"Issue {slug}", "issue_date": sent.date().isoformat(),
              "commit": "0" * 40, "run": {}, "recorded": _stamp(sent), "sha256": {}}  # fmt: skip
    store.put(f"{records.PREFIX}{slug}/record.json", json.dumps(record).encode())
    failed = max(1, len(ids) // 2000)
    counts = {"accepted": len(ids) - failed, "failed": failed, "skipped": 0, "unknown": 0}
    records.mark_complete(store, slug, ids=ids, counts={**counts, "pending": 0},
                          now=sent + dt.timedelta(hours=2))  # fmt: skip
    tally = Collector(store)
    hard, soft, complaint, unsubscribe = rates
    for reader in ids[failed:]:
        roll = rng.random()
        if roll < hard:
            tally.add(slug, "permanent", reader)
            continue
        if roll < hard + soft:
            tally.add(slug, "transient", reader)
        tally.add(slug, "delivery", reader)
        if rng.random() < complaint:
            tally.add(slug, "complaint", reader)
        if rng.random() < unsubscribe:
            record_unsubscribe(store, slug, reader, at=_stamp(sent))
    tally.flush()


__all__ = ["make_issue", "make_list"]
