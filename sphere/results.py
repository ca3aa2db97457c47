"""How an issue did: its send (the ledger, or its completion record), its feedback
(sphere.issue_feedback), and when and from what it was sent (sphere.records).

`sphere status ISSUE`, the report page (sphere.report) and the CI job summary all read an
issue's result from here. Numbers, slugs, subjects, times, commits and run links only: no
address or name is ever part of a result.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from sphere.clock import SYSTEM, Clock
from sphere.issue_feedback import IssueFeedback

if TYPE_CHECKING:
    from sphere.store.blobs import BlobStore

COUNTS = ("recipients", "accepted", "failed", "skipped", "unknown", "pending")


@dataclass
class IssueResult:
    """One issue's campaign as it stands."""

    issue: str
    subject: str = ""
    started: str = ""  # when its recipient list was frozen (the first send)
    finished: str = ""  # when the list was done ("" while not)
    commit: str = ""  # the commit the email was rendered from
    run: dict[str, str] = field(default_factory=dict)  # the CI run that started it (records)
    finished_by: dict[str, str] = field(default_factory=dict)  # ...and the one that finished it
    recipients: int = 0
    accepted: int = 0
    failed: int = 0
    skipped: int = 0
    unknown: int = 0
    pending: int = 0
    sending_now: bool = False  # a send holds the campaign's lease and renews it
    sender: str = ""  # who holds or last held the lease, and when it was last seen
    sender_stopped: bool = False  # ...and stopped renewing it without finishing
    feedback: IssueFeedback = field(default_factory=IssueFeedback)

    def rates(self) -> dict[str, float | None]:
        """Feedback counts as shares of the messages accepted."""
        return self.feedback.rates(self.accepted)

    def as_dict(self) -> dict[str, Any]:
        found = asdict(self)
        found["rates"] = self.rates()
        if not self.feedback.delivery_events:  # not configured: unknown, not zero
            found["feedback"]["delivered"] = None
            found["rates"]["delivered"] = None
        return found

    def lines(self) -> list[str]:
        """The human summary `sphere status ISSUE` prints, under its first line."""
        lines = []
        when = f"started {self.started}" + (f", finished {self.finished}" if self.finished else "")
        who = [f"commit {self.commit[:12]}"] if self.commit else []
        who.append(f"run {_run(self.run)}" if self.run.get("id") else "not from CI")
        if self.finished_by.get("id") and self.finished_by.get("id") != self.run.get("id"):
            who.append(f"finished by run {_run(self.finished_by)}")  # a resumed send
        lines.append(f"  {when}; {', '.join(who)}")
        fb, rate = self.feedback, self.rates()
        delivered = (
            f"delivered {fb.delivered:,}{_share(rate['delivered'])}"
            if fb.delivery_events
            else "delivered: not known (SES delivery events are not configured)"
        )
        lines.append(
            f"  {delivered}; bounced {fb.bounced_hard:,} hard{_share(rate['bounced_hard'])}, "
            f"{fb.bounced_soft:,} soft{_share(rate['bounced_soft'])}; "
            f"complained {fb.complained:,}{_share(rate['complained'])}; "
            f"unsubscribed through its links {fb.unsubscribed:,}{_share(rate['unsubscribed'])}"
        )
        return lines


def _run(run: dict[str, str]) -> str:
    return run.get("url") or run["id"]


def _share(rate: float | None) -> str:
    return f" ({rate:.2%})" if rate is not None else ""


def issue_result(store: BlobStore, slug: str, *, clock: Clock = SYSTEM) -> IssueResult | None:
    """The issue's result, or None before its first send. A complete campaign's counts come
    from its completion record (one read); an unfinished one's from its ledger. `clock` says
    whether a send's lease is still live (the settings' clock, which SPHERE_NOW sets)."""
    from sphere import issue_feedback, records
    from sphere.send.ledger import Ledger

    kept = records.read(store, slug)
    result = IssueResult(slug)
    if kept.complete is not None:
        for name in COUNTS:
            setattr(result, name, int(kept.complete.get(name, 0)))
        result.finished = str(kept.complete.get("finished", ""))
        result.finished_by = dict(kept.complete.get("run") or {})
        state = None
    else:
        state = Ledger(store, slug).load()
        if state is None:
            return None
        result.recipients = len(state.ids)
        for name, value in state.counts().items():
            setattr(result, name, value)
    if kept.record is not None:
        result.subject = str(kept.record.get("subject", ""))
        result.commit = str(kept.record.get("commit", ""))
        result.run = dict(kept.record.get("run") or {})
    result.started = _started(store, slug, state)
    _sender_state(store, f"campaigns/{slug}/lease.json", result, clock.now())
    result.feedback = issue_feedback.read(store, slug)
    return result


def _sender_state(store: BlobStore, key: str, result: IssueResult, now: float) -> None:
    """Whether a send holds the campaign now, and if one stopped without finishing, who it
    was and when it was last seen (a killed process leaves its lease until it expires)."""
    from sphere.send.lease import describe, read_lease, state

    blob = store.get(key)
    if blob is None:
        return
    holder = read_lease(store, key, blob.data)
    found = state(holder, now)
    result.sending_now = found == "sending"
    if found != "released":
        result.sender = describe(holder, now)
        result.sender_stopped = found == "stopped"


def _started(store: BlobStore, slug: str, state: Any) -> str:
    """When the campaign's list was frozen, from the ledger's manifest (already read or not)."""
    if state is not None:
        return str(state.created)
    from sphere.store.blobs import parsed

    key = f"campaigns/{slug}/campaign.json"
    blob = store.get(key)
    if blob is None:
        return ""
    return parsed(store, key, lambda: str(json.loads(blob.data)["created"]))


__all__ = ["COUNTS", "IssueResult", "issue_result"]
