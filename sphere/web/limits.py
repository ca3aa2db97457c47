"""Limits on the subscribe form, so that it cannot be turned into a way to flood an inbox.

Three limits, all kept in the subscriber store (so they hold on AWS Lambda, where every
container is a stranger to the others, as well as in `sphere serve`):

- **one confirmation email a day per mailbox**, keyed on the *canonical* mailbox: case,
  a `+tag` and, at Gmail, dots and `googlemail.com` do not make another inbox
  (`Victim+1@gmail.com`, `v.ictim@googlemail.com` and `victim@gmail.com` are one);
- **per client**: `CLIENT_BURST` requests at once, then one per `CLIENT_EVERY` seconds, from
  one IP address (an IPv6 client by its /64 network, which one machine usually holds whole);
- **overall**: `OVERALL_BURST` confirmation emails at once, then one per `OVERALL_EVERY`
  seconds, whoever asks: a ceiling on what a crowd of clients can make the newsletter send.

Each limit is a token bucket in one small object under `web/limits/`, named by a keyed hash
(no address or IP address in the store), changed by a conditional write: two requests at once
cannot both take the last token. When the store cannot settle it, the request is refused:
a limit fails closed.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from dataclasses import dataclass

from sphere.clock import Clock
from sphere.errors import PreconditionFailed
from sphere.store.blobs import BlobStore

LIMITS = "web/limits/"
CLIENT_BURST, CLIENT_EVERY = 5, 720.0  # 5 at once, then 5 an hour
OVERALL_BURST, OVERALL_EVERY = 100, 36.0  # 100 at once, then 100 an hour
_ATTEMPTS = 5
_GMAIL = frozenset({"gmail.com", "googlemail.com"})


def canonical_mailbox(address: str) -> str:
    """The inbox an address reaches: lower case, no `+tag`; at Gmail, no dots either."""
    local, _, domain = address.lower().rpartition("@")
    local = local.split("+", 1)[0] or local
    if domain in _GMAIL:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def client_key(ip: str) -> str:
    """Who a request is from, for the per-client limit (an IPv6 address by its /64)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return "client:unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return f"client:{address.ipv4_mapped}"
        return f"client:{ipaddress.ip_network(f'{address}/64', strict=False)}"
    return f"client:{address}"


@dataclass(frozen=True, slots=True)
class Bucket:
    """A token bucket: `burst` tokens at most, one more every `every` seconds."""

    burst: int
    every: float


@dataclass
class Limits:
    """The form's per-client and overall limits, kept in `store` (see the module's docstring).

    `hash` names each bucket's object without the IP address (the list's keyed hash).
    """

    store: BlobStore
    hash: Callable[[str], str]
    clock: Clock
    client: Bucket = Bucket(CLIENT_BURST, CLIENT_EVERY)
    overall: Bucket = Bucket(OVERALL_BURST, OVERALL_EVERY)

    def allow_client(self, ip: str) -> bool:
        """Take a token from this client's bucket; False when it has none left."""
        return self.take(client_key(ip), self.client)

    def allow_overall(self) -> bool:
        """Take a token from everyone's bucket (one confirmation email); False when empty."""
        return self.take("overall", self.overall)

    def take(self, name: str, bucket: Bucket) -> bool:
        """Take one token from the bucket `name`, by compare-and-swap; False if none is left."""
        key = f"{LIMITS}{self.hash(name)[:32]}.json"
        for _ in range(_ATTEMPTS):
            blob, now = self.store.get(key), self.clock.now()
            state = json.loads(blob.data) if blob is not None else {}
            elapsed = max(0.0, now - float(state.get("at", now)))
            held = float(state.get("tokens", bucket.burst)) + elapsed / bucket.every
            tokens = min(float(bucket.burst), held)
            if tokens < 1:
                return False
            full_at = now + (bucket.burst - tokens + 1) * bucket.every  # for the sweep
            data = json.dumps({"tokens": tokens - 1, "at": now, "full_at": full_at}).encode()
            try:
                if blob is None:
                    self.store.put(key, data, if_none_match=True)
                else:
                    self.store.put(key, data, if_match=blob.etag)
            except PreconditionFailed:
                continue  # another request took one at the same moment: read again
            return True
        return False


__all__ = ["LIMITS", "Bucket", "Limits", "canonical_mailbox", "client_key"]
