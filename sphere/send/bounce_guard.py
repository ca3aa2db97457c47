"""Stop mailing when an issue bounces or draws complaints: the bounce guard and the seed-list
check. (Not a circuit breaker for failing calls: the transports retry those. The settings and
`--resume-past-breaker` keep the older name, "breaker".)

Mailbox providers judge a sender by its bounce and complaint rates, and SES suspends an
account whose rates stay high. So, before each batch of a send, the guard compares this
issue's permanent bounces and complaints (counted per campaign by SES's `campaign` tag, by
`sphere feedback sync`, which it runs at most every `every` seconds and which also marks the
addresses) with the messages accepted so far; above `breaker_bounce_rate` or
`breaker_complaint_rate`, once `breaker_min_messages` went out, it answers why, and the send
pauses (exit status 4): the ledger keeps what was sent. A plain rerun pauses again at once;
`sphere send ISSUE --resume-past-breaker` resumes, counting only what comes from then on.

The seed-list check sends the issue to `seed_list` first (test sends, no ledger), waits
`seed_wait`, reads the feedback, and stops before the real send if any seed bounced or
complained.

`sphere.send.run.send_issue` builds the guard when `feedback_queue_url` is set
(`bounce_guard_for`) and hands `should_pause` to the campaign; `sphere publish` runs the seed check.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from sphere.clock import SYSTEM, Clock
from sphere.errors import SendStopped
from sphere.feedback import campaign_tally

if TYPE_CHECKING:
    from sphere.settings import Settings
    from sphere.store.blobs import BlobStore


class Progress(Protocol):
    """What the guard reads of a send's report (sphere.send.campaign.Report)."""

    sent: int
    accepted_before: int


@dataclass
class BounceGuard:
    """Pauses a campaign whose bounce or complaint rate crosses the settings' thresholds."""

    settings: Settings
    slug: str
    store: BlobStore
    sync: Callable[[], Any]  # reads the feedback queue (sphere.feedback.sync)
    every: float = 30.0  # seconds between two reads of the queue
    clock: Clock = SYSTEM
    # Resuming past a trip: judge only the feedback and the messages from this run on.
    from_now: bool = False
    _last: float | None = field(default=None, init=False)
    _baseline: dict[str, int] | None = field(default=None, init=False)

    def should_pause(self, progress: Progress) -> str:
        """Before each batch: why the send must pause now, or "" (the Campaign's hook).

        The queue is read at most every `every` seconds; the counts are compared every time.
        """
        now = self.clock.monotonic()
        if self._last is None or now - self._last >= self.every:
            self._last = now
            self.sync()
            if self.from_now and self._baseline is None:  # before the run's first batch
                self._baseline = campaign_tally(self.store, self.slug)
        accepted = progress.sent if self.from_now else progress.sent + progress.accepted_before
        return self.reason(accepted)

    def reason(self, accepted: int) -> str:
        """Why the send must pause after `accepted` messages, or ""."""
        if accepted < self.settings.breaker_min_messages:
            return ""
        tally = campaign_tally(self.store, self.slug)
        for name, limit in (
            ("bounces", self.settings.breaker_bounce_rate),
            ("complaints", self.settings.breaker_complaint_rate),
        ):
            count = tally[name] - (self._baseline or {}).get(name, 0)
            rate = count / accepted
            if rate > limit:
                return (
                    f"sending paused: {_count(count, name)} among the {accepted} messages of "
                    f"{self.slug} sent so far ({rate:.1%}, over breaker_{name[:-1]}_rate "
                    f"{limit:.1%}); find out why, then resume with "
                    f"`sphere send {self.slug} --resume-past-breaker`"
                )
        return ""


def bounce_guard_for(
    settings: Settings, slug: str, store: BlobStore, *, from_now: bool = False
) -> BounceGuard | None:
    """The guard of a send of `slug`, or None when no feedback queue is configured."""
    if not settings.feedback_queue_url:
        return None
    from sphere.feedback import sync

    return BounceGuard(
        settings,
        slug,
        store=store,
        sync=lambda: sync(settings),
        clock=settings.clock,
        from_now=from_now,
    )


def seed_check(
    settings: Settings,
    slug: str,
    *,
    store: BlobStore,
    send: Callable[[Sequence[str]], Sequence[tuple[str, Any]]],
    sync: Callable[[], Any],
    clock: Clock | None = None,
) -> None:
    """Send to the seed list, wait, read the feedback; SendStopped if anything went wrong.

    `send` sends the issue to the given addresses and returns (address, outcome) pairs
    (sphere.send.run.send_test); a seed that was refused stops it at once. `clock` (default
    the settings') waits.
    """
    if not settings.seed_list:
        return
    before = campaign_tally(store, slug)
    refused = [outcome for _, outcome in send(settings.seed_list) if not _accepted(outcome)]
    if refused:
        raise SendStopped(
            f"{len(refused)} of the {len(settings.seed_list)} seed addresses refused {slug}: "
            "the real send did not start"
        )
    (clock or settings.clock).sleep(settings.seed_wait)
    sync()
    after = campaign_tally(store, slug)
    grown = {name: after[name] - before[name] for name in after if after[name] > before[name]}
    if grown:
        found = " and ".join(_count(count, name) for name, count in grown.items())
        raise SendStopped(f"the seed send of {slug} had {found}: the real send did not start")


def _count(count: int, name: str) -> str:
    return f"{count} {name if count != 1 else name[:-1]}"


def _accepted(outcome: Any) -> bool:
    return str(getattr(outcome, "kind", "")) == "accepted"


__all__ = ["BounceGuard", "bounce_guard_for", "seed_check"]
