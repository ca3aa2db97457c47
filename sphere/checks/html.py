"""Raw HTML in an issue's body that mail clients drop, or that could run code on the archive.

Markdown passes an author's HTML through untouched. Mail clients strip scripts, styles, forms,
frames, embedded objects and event attributes (so the reader sees something else than the
author did), and on the archive page the same HTML would run in every visitor's browser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urlsplit

# tag -> why it is refused (each is dropped by Gmail, Outlook and Apple Mail alike)
REFUSED_TAGS = {
    "script": "mail clients drop it, and it would run on the archive page",
    "noscript": "mail clients drop it",
    "style": "mail clients drop or rewrite it, and on the archive page it would restyle the "
    'whole page (style one element with {style="..."} instead)',
    "form": "mail clients drop forms (link to a web page instead)",
    "input": "mail clients drop form controls",
    "button": "mail clients drop form controls (use a link)",
    "select": "mail clients drop form controls",
    "textarea": "mail clients drop form controls",
    "iframe": "mail clients drop embedded pages (link to the page instead)",
    "frame": "mail clients drop frames",
    "frameset": "mail clients drop frames",
    "object": "mail clients drop embedded objects, which can run code (link to it instead)",
    "embed": "mail clients drop embedded objects, which can run code (link to it instead)",
    "applet": "mail clients drop applets, which run code",
    "base": "it changes every link on the archive page, and mail clients drop it",
    "meta": "it changes the archive page's behaviour, and mail clients drop it",
    "link": "it loads a file into the archive page, and mail clients drop it",
}
URL_ATTRIBUTES = frozenset(
    {"href", "src", "action", "formaction", "background", "poster", "data", "xlink:href"}
)
CODE_SCHEMES = frozenset({"javascript", "vbscript", "data"})
_INVISIBLE = re.compile(r"[\x00-\x20\x7f]+")


@dataclass(frozen=True)
class Unsafe:
    """One piece of raw HTML to report: what to look for in the source, and why."""

    needle: re.Pattern[str]
    message: str


def code_scheme(url: str) -> str | None:
    """`javascript` for a javascript: URL (however it is spaced or cased), else None.

    data: URLs count too, outside images: a data:text/html link is a page of the author's.
    """
    scheme = urlsplit(_INVISIBLE.sub("", url)).scheme.lower()
    return scheme if scheme in CODE_SCHEMES else None


class _Scanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[Unsafe] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in REFUSED_TAGS:
            self.found.append(
                Unsafe(
                    re.compile(rf"<{tag}\b", re.IGNORECASE),
                    f"raw HTML <{tag}>: {REFUSED_TAGS[tag]}; remove it",
                )
            )
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(
                    Unsafe(
                        re.compile(rf"\b{re.escape(name)}\s*=", re.IGNORECASE),
                        f"the {name} attribute on <{tag}> would run code on the archive page, "
                        "and mail clients drop it; remove it",
                    )
                )
            elif name in URL_ATTRIBUTES and value and tag != "a" and _runs_code(tag, value):
                self.found.append(_url(tag, name, value))


def _runs_code(tag: str, value: str) -> bool:
    scheme = code_scheme(value)
    return scheme is not None and not (scheme == "data" and tag == "img")


def _url(tag: str, name: str, value: str) -> Unsafe:
    scheme = code_scheme(value)
    return Unsafe(
        re.compile(rf"\b{re.escape(name)}\s*=\s*[\"']?\s*{scheme}:", re.IGNORECASE),
        f"a {scheme}: URL in <{tag} {name}> can run code, and mail clients drop it; "
        "use an https:// URL",
    )


def unsafe_html(body_html: str) -> list[Unsafe]:
    """Each piece of raw HTML in the rendered body that a mail client would drop or that can
    run code, in document order (links' javascript: URLs are `url_problems`' to report)."""
    scanner = _Scanner()
    scanner.feed(body_html)
    scanner.close()
    return scanner.found
