"""Links: what a link's URL and text say before anyone follows it, and (with --links) following
external ones, HEAD first and GET when a server will not answer HEAD, many at a time."""

from __future__ import annotations

import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

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


def check_urls(
    urls: Iterable[str], *, timeout: float = 10.0, workers: int = 16
) -> dict[str, LinkStatus]:
    """Follow each URL once, in parallel threads; redirects are followed."""
    unique = sorted(set(urls))
    if not unique:
        return {}
    with ThreadPoolExecutor(max_workers=min(workers, len(unique))) as pool:
        results = pool.map(lambda url: check_url(url, timeout=timeout), unique)
        return {status.url: status for status in results}


def check_url(url: str, *, timeout: float = 10.0) -> LinkStatus:
    """HEAD the URL, then GET it if HEAD failed (many servers answer HEAD wrongly)."""
    status = _request(url, "HEAD", timeout)
    if status is None or (isinstance(status, int) and status < 400):
        return LinkStatus(url, None)
    if isinstance(status, int) or not status.startswith("timed out"):
        status = _request(url, "GET", timeout)
    if status is None or (isinstance(status, int) and status < 400):
        return LinkStatus(url, None)
    if isinstance(status, int):
        rule = "link/unverified" if status in REFUSED_ROBOTS else "link/broken"
        return LinkStatus(url, rule, f"{url} answered HTTP {status}")
    if status.startswith("timed out"):
        return LinkStatus(url, "link/unverified", f"{url}: {status}")
    return LinkStatus(url, "link/broken", f"{url}: {status}")


def _request(url: str, method: str, timeout: float) -> int | str | None:
    """None or the HTTP status for an answer; a reason (str) when there was none."""
    import socket  # only with --links: urllib.request alone costs tens of ms at start-up
    import urllib.error
    import urllib.request

    # S310: only http(s) URLs come here (see `external`).
    request = urllib.request.Request(url, method=method, headers={"User-Agent": USER_AGENT})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except urllib.error.URLError as error:
        if isinstance(error.reason, TimeoutError | socket.timeout):
            return f"timed out after {timeout:g} s"
        return f"no answer ({error.reason})"
    except TimeoutError:
        return f"timed out after {timeout:g} s"
    except (OSError, ValueError) as error:
        return f"no answer ({error})"
