"""One sender per campaign: a lease object created with a conditional write, renewed while
sending, released at the end.

A second `sphere send` of the same issue finds the lease and stops before sending anything.
A lease whose holder died stays until it expires, or until a process on the same host can see
that the holder's pid is gone; even then it is taken over only when asked (`--take-over`), since
a person should decide that the other send is really over.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sphere.clock import SYSTEM, Clock
from sphere.errors import CampaignBusy, PreconditionFailed

if TYPE_CHECKING:
    from sphere.store.blobs import BlobStore

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
                continue  # released meanwhile: try again
            holder = json.loads(held.data)
            if not _stale(holder, now):
                raise CampaignBusy(
                    f"{what} is being sent by another sphere send ({_who(holder)}); "
                    "this one sends nothing"
                )
            if not take_over:
                raise CampaignBusy(
                    f"a send of {what} ({_who(holder)}) stopped without finishing: if it is no "
                    "longer running, run again with --take-over to resume it"
                )
            try:
                etag = store.put(key, body, if_match=held.etag)
            except PreconditionFailed:
                continue  # someone else took it over first; look again
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
        """Give the lease up, if it is still ours."""
        held = self.store.get(self.key)
        if held is not None and json.loads(held.data).get("owner") == self.owner:
            self.store.delete(self.key)


def _body(owner: str, now: float, ttl: float) -> bytes:
    return json.dumps(
        {
            "owner": owner,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "renewed": now,
            "expires": now + ttl,
        }
    ).encode()


def _stale(holder: dict[str, Any], now: float) -> bool:
    """Expired, or held by a process on this host that no longer exists."""
    if float(holder.get("expires", 0)) <= now:
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


def _who(holder: dict[str, Any]) -> str:
    renewed = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(float(holder.get("renewed", 0))))
    return f"pid {holder.get('pid')} on {holder.get('host')}, last seen {renewed}"


__all__ = ["TTL", "Lease"]
