"""One sender per campaign: a lease object created with a conditional write, renewed while
sending, released at the end.

A second `sphere send` of the same issue finds the lease and stops before sending anything.
A lease whose holder stopped renewing it for its time to live (two minutes) has expired:
`send` and `publish` take the campaign over by themselves and say so, so that a publish job
that was killed is resumed by the next scheduled one with nobody at a keyboard. A lease that
has not expired is taken over only when a person asks (`--take-over`). Either way the old
holder, if it was only paused, finds at its next renewal (before its next chunk) that the
lease is no longer its own and stops without sending another batch.

Every change to the lease is a conditional write, releasing it too (it is marked released,
never read-then-deleted), so no process can remove a lease that another has just taken over.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sphere.clock import SYSTEM, Clock
from sphere.errors import CampaignBusy, PreconditionFailed
from sphere.store.blobs import parsed

if TYPE_CHECKING:
    from sphere.store.blobs import BlobStore

log = logging.getLogger(__name__)

TTL = 120.0  # seconds a lease lasts without renewal


@dataclass
class Lease:
    """A held lease; `renew` it more often than TTL, `release` it when done."""

    store: BlobStore
    key: str
    owner: str
    etag: str
    clock: Clock
    ttl: float
    renewed: float

    @classmethod
    def acquire(
        cls,
        store: BlobStore,
        key: str,
        *,
        what: str,
        take_over: bool = False,
        ttl: float = TTL,
        clock: Clock = SYSTEM,
    ) -> Lease:
        """Hold the lease at `key`, or raise CampaignBusy saying who holds it."""
        owner = secrets.token_hex(8)
        for _ in range(5):
            now = clock.now()
            body = _body(owner, now, ttl)
            try:
                etag = store.put(key, body, if_none_match=True)
                return cls(store, key, owner, etag, clock, ttl, now)
            except PreconditionFailed:
                pass
            held = store.get(key)
            if held is None:
                continue  # removed meanwhile: try again
            holder = read_lease(store, key, held.data)
            if not holder.get("released"):
                _may_take(holder, now, what=what, take_over=take_over)
            try:
                etag = store.put(key, body, if_match=held.etag)
            except PreconditionFailed:
                continue  # someone else took it first; look again
            if not holder.get("released"):
                log.warning("%s: took the send over from %s", what, describe(holder, now))
            return cls(store, key, owner, etag, clock, ttl, now)
        raise CampaignBusy(f"{what}: the lease at {key} keeps changing; try again")

    def renew(self, *, force: bool = False) -> None:
        """Extend the lease (at most every quarter TTL unless forced); CampaignBusy if lost."""
        now = self.clock.now()
        if not force and now - self.renewed < self.ttl / 4:
            return
        try:
            self.etag = self.store.put(
                self.key, _body(self.owner, now, self.ttl), if_match=self.etag
            )
        except PreconditionFailed:
            raise CampaignBusy(
                "another sphere send took over this campaign: stopping this one"
            ) from None
        self.renewed = now

    def release(self) -> None:
        """Give the lease up if it is still ours: marked released by a conditional write, so a
        lease another send has taken over meanwhile stays theirs."""
        body = _body(self.owner, self.clock.now(), 0, released=True)
        try:
            self.store.put(self.key, body, if_match=self.etag)
        except PreconditionFailed:
            log.info("%s: not released, another send holds it now", self.key)


def read_lease(store: BlobStore, key: str, data: bytes) -> dict[str, Any]:
    """A lease's fields; DamagedObject naming it if it is not one Sphere wrote."""

    def parse() -> dict[str, Any]:
        holder = json.loads(data)
        if not all(isinstance(holder[f], int | float) for f in ("renewed", "expires")):
            raise ValueError("its times are not numbers")
        return dict(holder)

    return parsed(store, key, parse)


def state(holder: dict[str, Any], now: float) -> str:
    """`released`, `sending` (renewed within its time to live) or `stopped` (expired, or its
    process is gone from this host): what `status` shows."""
    if holder.get("released"):
        return "released"
    return "stopped" if _stale(holder, now) else "sending"


def _may_take(holder: dict[str, Any], now: float, *, what: str, take_over: bool) -> None:
    """Return if the lease may be taken from `holder`; else raise CampaignBusy saying why."""
    if take_over or float(holder["expires"]) <= now:
        return
    expires = _when(float(holder["expires"]))
    if _stale(holder, now):
        raise CampaignBusy(
            f"a send of {what} ({describe(holder, now)}) stopped without finishing: it is "
            f"resumed by the first send or publish after its lease expires at {expires}, or "
            "now with --take-over"
        )
    raise CampaignBusy(
        f"{what} is being sent by another sphere send ({describe(holder, now)}); this one "
        f"sends nothing (if that send is not running any more, its lease expires at {expires}; "
        "--take-over resumes it now)"
    )


def describe(holder: dict[str, Any], now: float) -> str:
    """Who holds a lease and when it was last seen, for messages."""
    seen = float(holder.get("renewed", 0))
    return (
        f"pid {holder.get('pid')} on {holder.get('host')}, last seen {_when(seen)}, "
        f"{_ago(now - seen)} ago"
    )


def _body(owner: str, now: float, ttl: float, *, released: bool = False) -> bytes:
    body: dict[str, Any] = {
        "owner": owner,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "renewed": now,
        "expires": now + ttl,
    }
    if released:
        body["released"] = True
    return json.dumps(body).encode()


def _stale(holder: dict[str, Any], now: float) -> bool:
    """Expired, or held by a process on this host that no longer exists."""
    if float(holder["expires"]) <= now:
        return True
    if holder.get("host") != socket.gethostname():
        return False
    pid = int(holder.get("pid", 0))
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _when(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(at))


def _ago(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds} s" if seconds < 120 else f"{seconds // 60} min"


__all__ = ["TTL", "Lease", "describe", "read_lease", "state"]
