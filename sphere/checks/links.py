"""Links: what a link's URL and text say before anyone follows it, and (with --links) following
external ones, HEAD first and GET when a server will not answer HEAD, many at a time."""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urljoin, urlsplit

from sphere import __version__
from sphere.checks.html import code_scheme
from sphere.render.urls import ISSUES

SCHEMES = ("http", "https", "mailto", "tel")
PLACEHOLDER_HOSTS = frozenset(
    ["localhost", "127.0.0.1", "0.0.0.0", "::1", "example.com", "example.org", "example.net"]  # noqa: S104
)
PLACEHOLDER_SUFFIXES = (".example", ".test", ".invalid", ".localhost", ".example.com",
                        ".example.org", ".example.net")  # fmt: skip
VAGUE_TEXT = frozenset(
    ["", "click here", "here", "click", "read more", "more", "learn more", "link", "this link",
     "this", "go", "see here", "continue", "continue reading"]
)  # fmt: skip
USER_AGENT = f"sphere-check/{__version__} (link checker)"
# Answers that mean a server keeps robots out, not that the page is gone (999: LinkedIn).
REFUSED_ROBOTS = frozenset({401, 403, 429, 999})
_RELATIVE_ISSUE = re.compile(r"^\.\./([^/?#]+)/?(?:index\.html)?(?:[?#].*)?$")


@dataclass(frozen=True)
class Problem:
    rule: str
    message: str


def url_problems(href: str) -> list[Problem]:
    """What is wrong with a link's URL on its face."""
    if not href.strip():
        return [Problem("link/malformed", "empty link target")]
    if any(char.isspace() for char in href.strip()):
        return [Problem("link/malformed", f"{href!r} has a space in it: encode it as %20")]
    try:
        parts = urlsplit(href.strip())
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
    except ValueError as error:
        return [Problem("link/malformed", f"{href!r} is not a URL ({error})")]
    if not parts.scheme:
        return _relative(href)
    scheme = code_scheme(href)
    if scheme is not None:
        return [
            Problem(
                "html/unsafe",
                f"a {scheme}: link can run code on the archive page, and mail clients drop "
                "it; use an https:// URL",
            )
        ]
    if parts.scheme not in SCHEMES:
        return [Problem("link/malformed", f"{href!r}: unknown scheme {parts.scheme!r}")]
    if parts.scheme == "mailto":
        ok = "@" in parts.path
        return [] if ok else [Problem("link/malformed", f"{href!r} has no address")]
    if parts.scheme == "tel":
        return []
    host = (parts.hostname or "").rstrip(".")
    if not host or ("." not in host and host != "localhost" and ":" not in host):
        return [Problem("link/malformed", f"{href!r} has no host name (a typo in the URL?)")]
    problems = []
    if host in PLACEHOLDER_HOSTS or host.endswith(PLACEHOLDER_SUFFIXES):
        problems.append(
            Problem("link/placeholder", f"{href!r} points at {host}, which readers cannot reach")
        )
    if parts.scheme == "http":
        problems.append(Problem("link/insecure", f"{href!r} uses http://: use https://"))
    return problems


def _relative(href: str) -> list[Problem]:
    if href.startswith("#") or _RELATIVE_ISSUE.match(href):
        return []
    if re.match(r"^(www\.|[\w-]+\.(com|org|net|co\.uk|io)\b)", href):
        return [Problem("link/malformed", f"{href!r} has no scheme: write https://{href}")]
    return [
        Problem(
            "link/malformed",
            f"{href!r} is a relative link, which leads nowhere from an email: use a full URL",
        )
    ]


def vague_text(text: str) -> bool:
    """True when a link's text does not say where it goes ('click here', empty, ...)."""
    words = re.sub(r"[^\w\s]", "", text.lower())
    return " ".join(words.split()) in VAGUE_TEXT


def archive_slug(href: str, base_url: str) -> str | None:
    """The slug an archive link points to (`BASE/issues/SLUG/` or `../SLUG/`), else None."""
    match = _RELATIVE_ISSUE.match(href)
    if match:
        return match.group(1)
    prefix = base_url + ISSUES
    if href.startswith(prefix):
        slug = re.split(r"[/?#]", href[len(prefix) :], maxsplit=1)[0]
        return slug or None
    return None


def external(href: str) -> bool:
    """A link `--links` follows: http(s), anywhere."""
    return urlsplit(href).scheme in ("http", "https")


@dataclass(frozen=True)
class LinkStatus:
    """The outcome of following a URL: ok, or the rule it breaks and why."""

    url: str
    rule: str | None  # None when the link works
    message: str = ""


MAX_REDIRECTS = 5
# A link is only ever followed to an address on the public internet: a link in an issue must
# not make `check --links` (on an author's laptop, or in CI) call this machine or its network
# (`http://127.0.0.1:8080/admin/delete?all=1`, a router, a cloud metadata service).
AddressCheck = Callable[[str], bool]


def public_address(address: str) -> bool:
    """True for an address on the public internet (not loopback, private, link-local, ...)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return ip.is_global and not ip.is_multicast


def check_urls(
    urls: Iterable[str],
    *,
    timeout: float = 10.0,
    workers: int = 16,
    allowed: AddressCheck = public_address,
) -> dict[str, LinkStatus]:
    """Follow each URL once, in parallel threads; redirects are followed (to public addresses
    only: `allowed` decides, and is only ever widened by tests of the checker itself)."""
    unique = sorted(set(urls))
    if not unique:
        return {}
    with ThreadPoolExecutor(max_workers=min(workers, len(unique))) as pool:
        results = pool.map(lambda url: check_url(url, timeout=timeout, allowed=allowed), unique)
        return {status.url: status for status in results}


def check_url(
    url: str, *, timeout: float = 10.0, allowed: AddressCheck = public_address
) -> LinkStatus:
    """HEAD the URL, then GET it if HEAD failed (many servers answer HEAD wrongly)."""
    status = _request(url, "HEAD", timeout, allowed)
    if isinstance(status, _Refused):
        return LinkStatus(url, "link/unverified", f"{url}: not followed: {status}")
    if status is None or (isinstance(status, int) and status < 400):
        return LinkStatus(url, None)
    if isinstance(status, int) or not status.startswith("timed out"):
        status = _request(url, "GET", timeout, allowed)
    if status is None or (isinstance(status, int) and status < 400):
        return LinkStatus(url, None)
    if isinstance(status, int):
        rule = "link/unverified" if status in REFUSED_ROBOTS else "link/broken"
        return LinkStatus(url, rule, f"{url} answered HTTP {status}")
    if isinstance(status, _Refused):
        return LinkStatus(url, "link/unverified", f"{url}: not followed: {status}")
    if status.startswith("timed out"):
        return LinkStatus(url, "link/unverified", f"{url}: {status}")
    return LinkStatus(url, "link/broken", f"{url}: {status}")


class _Refused(str):
    """Why a URL was not requested (its host is not on the public internet)."""

    __slots__ = ()


def _request(url: str, method: str, timeout: float, allowed: AddressCheck) -> int | str:
    """The HTTP status of an answer (after redirects), or a reason (str) when there was none.

    The host is resolved here, every address it has is checked, and the connection goes to
    the checked address itself: a second lookup (DNS rebinding) cannot send it elsewhere.
    """
    import http.client  # only with --links: they cost milliseconds at start-up

    for _hop in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        try:
            connection = _connect(parts, timeout, allowed)
        except _RefusedError as error:
            return _Refused(str(error))
        except TimeoutError:
            return f"timed out after {timeout:g} s"
        except (OSError, ValueError) as error:
            return f"no answer ({error})"
        try:
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            connection.request(method, target, headers={"User-Agent": USER_AGENT})
            response = connection.getresponse()
            location = response.getheader("Location")
            if response.status not in _REDIRECTS or not location:
                return int(response.status)
        except TimeoutError:
            return f"timed out after {timeout:g} s"
        except (OSError, http.client.HTTPException) as error:
            return f"no answer ({error or type(error).__name__})"
        finally:
            connection.close()
        url = urljoin(url, location)
        if urlsplit(url).scheme not in ("http", "https"):
            return f"redirected to {url!r}, which is not a web page"
    return f"more than {MAX_REDIRECTS} redirects"


_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class _RefusedError(Exception):
    pass


def _connect(parts: SplitResult, timeout: float, allowed: AddressCheck) -> Any:
    """A connection to the URL's host, made to an address `allowed` accepts, or _RefusedError."""
    import socket
    import ssl

    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = [str(info[4][0]) for info in found]
    if not addresses:
        raise OSError(f"{host} has no address")
    refused = [address for address in addresses if not allowed(address)]
    if refused:  # one private address is enough: a resolver may hand out any of them
        raise _RefusedError(
            f"{host} is at {refused[0]}, an address on this machine or a private network "
            "(readers cannot reach it, and the checker never calls one)"
        )
    address, (plain, secure) = addresses[0], _pinned_classes()
    if parts.scheme == "https":
        return secure(host, port, address, timeout, ssl.create_default_context())
    return plain(host, port, address, timeout)


@functools.cache
def _pinned_classes() -> tuple[type[Any], type[Any]]:
    import http.client
    import socket

    class PinnedHTTP(http.client.HTTPConnection):
        """Talks to `host` (Host header) at the address already checked."""

        def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
            super().__init__(host, port, timeout=timeout)
            self.address = address

        def connect(self) -> None:
            self.sock = socket.create_connection((self.address, self.port), self.timeout)

    class PinnedHTTPS(http.client.HTTPSConnection):
        """As PinnedHTTP, over TLS with the certificate checked for `host`."""

        def __init__(
            self, host: str, port: int, address: str, timeout: float, context: Any
        ) -> None:
            super().__init__(host, port, timeout=timeout, context=context)
            self.address, self.tls = address, context

        def connect(self) -> None:
            raw = socket.create_connection((self.address, self.port), self.timeout)
            self.sock = self.tls.wrap_socket(raw, server_hostname=self.host)

    return PinnedHTTP, PinnedHTTPS
