"""The numbers behind the report page: the list's history by month, and each issue's result.

The subscriber list keeps each person's current record (the changes are folded into a
snapshot), not every past status, so its history is rebuilt from each record's creation and
last change: a person is counted from the month they were added in (subscribed, or pending if
they never confirmed), and in their present status from the month of their last change when
they have left (unsubscribed, bounced, complained). Someone who left and came back counts from
their first joining; an erased person is in no month. Counts only: no address or name leaves
this module.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sphere.clock import SYSTEM, Clock
from sphere.subscribers.model import STATUSES, Status

if TYPE_CHECKING:
    from sphere.results import IssueResult
    from sphere.settings import Settings
    from sphere.store.blobs import BlobStore

LEFT = (Status.UNSUBSCRIBED, Status.BOUNCED, Status.COMPLAINED)


@dataclass
class ListHistory:
    """Per month, oldest first: the list by status at the month's end, who joined, who left."""

    months: list[str] = field(default_factory=list)  # "2026-12"
    by_status: dict[str, list[int]] = field(default_factory=dict)  # status -> count per month
    joined: list[int] = field(default_factory=list)
    unsubscribed: list[int] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)  # bounced or complained that month

    def now(self, status: str) -> int:
        """How many have `status` today."""
        counts = self.by_status.get(status, [])
        return counts[-1] if counts else 0


@dataclass
class ReportData:
    """Everything the page shows."""

    newsletter: str
    generated: str  # ISO 8601 UTC
    history: ListHistory
    issues: list[IssueResult]  # oldest first


def _month(stamp: str) -> int:
    """Months since year 0 of an ISO 8601 date or time ("2026-12-01T06:00:00Z" -> 24323)."""
    return int(stamp[:4]) * 12 + int(stamp[5:7]) - 1


def _label(month: int) -> str:
    return f"{month // 12:04d}-{month % 12 + 1:02d}"


def list_history(records: Iterable[tuple[str, str, str]], *, today: dt.date) -> ListHistory:
    """The history of records given as (status, created, updated), up to `today`'s month."""
    last = today.year * 12 + today.month - 1
    rows = [(status, _month(created), _month(updated)) for status, created, updated in records]
    if not rows:
        return ListHistory(months=[_label(last)], by_status={s: [0] for s in STATUSES},
                           joined=[0], unsubscribed=[0], removed=[0])  # fmt: skip
    first = min(min(row[1] for row in rows), last)
    size = last - first + 1
    starts = {status: [0] * (size + 1) for status in STATUSES}  # difference arrays
    joined, unsubscribed, removed = [0] * size, [0] * size, [0] * size
    for status, created, updated in rows:
        c = min(max(created - first, 0), size - 1)
        u = min(max(updated - first, c), size - 1)
        if status in LEFT:
            subscribed = starts[Status.SUBSCRIBED]
            subscribed[c] += 1
            subscribed[u] -= 1
            starts[status][u] += 1
            joined[c] += 1
            (unsubscribed if status == Status.UNSUBSCRIBED else removed)[u] += 1
        else:
            starts[status][c] += 1
            joined[c] += status == Status.SUBSCRIBED
    by_status = {}
    for status, diffs in starts.items():
        running, counts = 0, []
        for change in diffs[:size]:
            running += change
            counts.append(running)
        by_status[status] = counts
    months = [_label(first + n) for n in range(size)]
    return ListHistory(months, by_status, joined, unsubscribed, removed)


def issue_results(store: BlobStore, *, clock: Clock = SYSTEM) -> list[IssueResult]:
    """Every issue that went out (its record was kept: sphere.records), oldest first; `clock`
    for whether a send still holds its campaign."""
    from sphere import records
    from sphere.results import issue_result

    slugs = sorted(
        key[len(records.PREFIX) :].split("/")[0]
        for key in store.list(records.PREFIX)
        if key.endswith("/record.json")
    )
    found = [
        result for slug in slugs if (result := issue_result(store, slug, clock=clock)) is not None
    ]
    return sorted(found, key=lambda result: (result.started, result.issue))


def gather(settings: Settings) -> ReportData:
    """Read the list and the campaigns once, for the page."""
    from sphere.clock import utc
    from sphere.send import seams
    from sphere.subscribers.list import open_list

    fold = open_list(settings).read()[0]
    history = list_history(
        ((r.status, r.created, r.updated) for r in fold.records.values()), today=settings.today()
    )
    return ReportData(
        newsletter=settings.name,
        generated=utc(settings.clock).strftime("%Y-%m-%dT%H:%M:%SZ"),
        history=history,
        issues=issue_results(seams.open_store(settings), clock=settings.clock),
    )


__all__ = ["ListHistory", "ReportData", "gather", "issue_results", "list_history"]
