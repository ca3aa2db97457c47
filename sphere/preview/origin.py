"""Who may talk to the preview server: the `Host` a request must name, and what a page may load.

A page on another origin must not read the preview (drafts are private until sent), even when
its own name has been re-pointed at 127.0.0.1 (DNS rebinding): its requests still carry its
name in `Host`, which `Origin.allows` refuses. The Content-Security-Policy keeps every page on
the preview's own origin, and lets only the preview's page frame the views.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

# Nothing from another origin: an email must not depend on the network to be previewed.
# The views may be framed only by the preview's own page, and that page by nothing.
CSP = (
    "default-src 'none'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; frame-src 'self'; base-uri 'self'; "
    "form-action 'none'; frame-ancestors 'self'"
)
PAGE_CSP = CSP.replace("frame-ancestors 'self'", "frame-ancestors 'none'")


@dataclass(frozen=True)
class Origin:
    """The `Host` a request must give: a name this server listens on, and its port.

    The listening address itself, and `localhost` when that is a loopback address. Listening
    on every address (`0.0.0.0`, `::`) accepts any IP address too: a rebinding attack needs
    a name it controls, never an address.
    """

    names: frozenset[str]
    port: int
    any_address: bool = False

    @classmethod
    def listening_on(cls, host: str, port: int) -> Origin:
        """The origin of a server listening on `host` (as given to --host) and `port`."""
        bare = host.strip("[]").lower()
        if bare == "localhost":  # it listens on a loopback address, shown as that name
            return cls(frozenset({"localhost", "127.0.0.1", "::1"}), port)
        try:
            address = ipaddress.ip_address(bare)
        except ValueError:
            return cls(frozenset({bare}), port)
        loopback = address.is_loopback or address.is_unspecified
        names = {bare, "localhost"} if loopback else {bare}
        return cls(frozenset(names), port, any_address=address.is_unspecified)

    def allows(self, header: str | None) -> bool:
        """Whether a request's `Host` header names this server."""
        try:
            url = urlsplit(f"//{header}")
            name, port = (url.hostname or ""), url.port or 80
        except ValueError:  # a port that is not a number, an unclosed bracket
            return False
        if not header or port != self.port:
            return False
        return name in self.names or (self.any_address and _is_address(name))


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
