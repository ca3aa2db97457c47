"""Stop mailing when an issue is going wrong: the circuit breaker and the seed-list check.

Mailbox providers judge a sender by its bounce and complaint rates, and SES suspends an
account whose rates stay high. So, during a send, the breaker reads the feedback queue every
`every` seconds (`sphere feedback sync`, which also marks the addresses) and compares this
issue's permanent bounces and complaints (counted per campaign by SES's `campaign` tag) with
the messages accepted so far; above `breaker_bounce_rate` or `breaker_complaint_rate`, once
`breaker_min_messages` went out, it pauses the send with `SendStopped`: the ledger keeps what
was sent, and the next `sphere send` resumes.

The seed-list check sends the issue to `seed_list` first (test sends, no ledger), waits
`seed_wait`, reads the feedback, and stops before the real send if any seed bounced or
complained.

The send loop calls the breaker after each batch (`send_issue(..., on_batch=breaker.on_batch)`);
see docs/aws.md for how `sphere send` and `publish` wire them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from sphere.errors import SendStopped
from sphere.feedback import campaign_tally

if TYPE_CHECKING:
    from sphere.settings import Settings
    from sphere.store.blobs import BlobStore

log = logging.getLogger(__name__)


class Progress(Protocol):
    """What the breaker reads of a send's report (sphere.send.campaign.Report)."""

    sent: int
    done_before: int


@dataclass
class CircuitBreaker:
    """Pauses a campaign whose bounce or complaint rate crosses the settings' thresholds."""

    settings: Settings
    slug: str
    store: BlobStore
    sync: Callable[[], Any]  # reads the feedback queue (sphere.feedback.sync)
    every: float = 30.0  # seconds between two reads of the queue
    clock: Callable[[], float] = time.monotonic
    _last: float | None = field(default=None, init=False)

    def on_batch(self, progress: Progress) -> None:
        """After each batch: read the feedback when due; SendStopped if the rates are too high."""
        now = self.clock()
        if self._last is not None and now - self._last < self.every:
            return
        self._last = now
        self.sync()
        reason = self.reason(progress.sent + progress.done_before)
        if reason:
            raise SendStopped(reason)

    def reason(self, accepted: int) -> str:
        """Why the send must pause after `accepted` messages, or ""."""
        if accepted < self.settings.breaker_min_messages:
            return ""
        tally = campaign_tally(self.store, self.slug)
        for name, limit in (
            ("bounces", self.settings.breaker_bounce_rate),
            ("complaints", self.settings.breaker_complaint_rate),
        ):
            rate = tally[name] / accepted
            if rate > limit:
                log.warning("%s: %d %s among %d messages", self.slug, tally[name], name, accepted)
                return (
                    f"sending paused: {_count(tally[name], name)} among the {accepted} messages of "
                    f"{self.slug} sent so far ({rate:.1%}, over breaker_{name[:-1]}_rate "
                    f"{limit:.1%}); find out why, then run the send again to resume"
                )
        return ""


def seed_check(
    settings: Settings,
    slug: str,
    *,
    store: BlobStore,
    send: Callable[[Sequence[str]], Sequence[tuple[str, Any]]],
    sync: Callable[[], Any],
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Send to the seed list, wait, read the feedback; SendStopped if anything went wrong.

    `send` sends the issue to the given addresses and returns (address, outcome) pairs
    (sphere.send.run.send_test); a seed that was refused stops it at once.
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
    sleep(settings.seed_wait)
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


__all__ = ["CircuitBreaker", "seed_check"]
