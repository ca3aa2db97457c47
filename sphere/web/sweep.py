"""Clearing away what the endpoints keep once it has done its job.

The endpoints leave small objects in the store: an erased person's waiting request under
`web/pending/` (their address, name and IP address: it must not outlive its confirmation
link), the time of the last confirmation email to each mailbox under `web/confirmations/`,
and the form's rate-limit buckets under `web/limits/`. `sweep_web` removes each once it can
no longer matter. The endpoints run it at most once an hour (`Sweeper`); compaction and
publish may call it too (`sphere subscribers compact` does). The same code for a folder and
for S3; a sweep racing a request loses nothing (each write there is conditional).
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field

from sphere.clock import SYSTEM, Clock
from sphere.mail.tokens import CONFIRM_DAYS
from sphere.store.blobs import BlobStore
from sphere.subscribers.erasure import HELD_REQUESTS
from sphere.web.limits import LIMITS

CONFIRMATIONS = "web/confirmations/"  # written by sphere/subscribers/members.py (`claim_mail`)
PENDING_FOR = CONFIRM_DAYS * 86400.0  # a waiting request outlives its link by nothing
CONFIRMATIONS_FOR = 24 * 3600.0  # the one-a-day limit's memory (sphere.web.optin.MAIL_EVERY)
SWEEP_EVERY = 3600.0

log = logging.getLogger(__name__)


def sweep_web(store: BlobStore, *, now: float) -> int:
    """Remove the endpoints' objects that can no longer matter at `now`; return how many."""
    removed = 0
    for prefix, field_name, keep_for in (
        (HELD_REQUESTS, "at", PENDING_FOR),
        (CONFIRMATIONS, "at", CONFIRMATIONS_FOR),
        (LIMITS, "full_at", 0.0),  # a full bucket is the same as none
    ):
        for key in store.list(prefix):
            blob = store.get(key)
            if blob is None:
                continue
            try:
                stamp = float(json.loads(blob.data)[field_name])
            except (ValueError, KeyError, TypeError):
                stamp = 0.0  # unreadable: nothing can use it either
            if now - stamp > keep_for:
                store.delete(key)
                removed += 1
    if removed:
        log.info("swept %d expired endpoint objects from %s", removed, store.url)
    return removed


@dataclass
class Sweeper:
    """Runs `sweep_web` at most once every `every` seconds in this process."""

    store: BlobStore
    clock: Clock = SYSTEM
    every: float = SWEEP_EVERY
    _last: float = field(default=float("-inf"), init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def maybe(self) -> int:
        now = self.clock.now()
        with self._lock:
            if now - self._last < self.every:
                return 0
            self._last = now
        return sweep_web(self.store, now=now)


__all__ = ["CONFIRMATIONS", "Sweeper", "sweep_web"]
