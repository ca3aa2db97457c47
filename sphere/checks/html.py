"""Raw HTML in an issue's body that the build's sanitiser removes: what mail clients drop, or
what could run code on the archive, or what the allowlist does not know.

Markdown passes an author's HTML through untouched, and the build sanitises it
(sphere.content.sanitise); `sphere check` says what goes, at its line. Mail clients strip
scripts, styles, forms, frames, embedded objects and event attributes (so the reader sees
something else than the author did), and on the archive page the same HTML would run in every
visitor's browser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from sphere.content.sanitise import Removal

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


def unsafe_html(removed: list[Removal]) -> list[Unsafe]:
    """What the build's sanitiser takes out of the body, each to report at its line, in
    document order (a link's javascript: URL is `url_problems`' to report)."""
    found = []
    for removal in removed:
        tag, name = removal.tag, removal.attribute
        if name is None:
            found.append(_tag(tag))
        elif name.startswith("on"):
            found.append(
                Unsafe(
                    re.compile(rf"\b{re.escape(name)}\s*=", re.IGNORECASE),
                    f"the {name} attribute on <{tag}> would run code on the archive page, "
                    "and mail clients drop it; remove it",
                )
            )
        elif name in URL_ATTRIBUTES and code_scheme(removal.value):
            if tag != "a":
                found.append(_url(tag, name, removal.value))
        elif name == "style":
            found.append(
                Unsafe(
                    re.compile(
                        rf"<{tag}\b[^>]*?\bstyle\s*=[^>]*?"
                        rf"{re.escape(removal.value.split(':')[0].strip())}",
                        re.IGNORECASE,
                    ),
                    f"the style on <{tag}> sets {removal.value!r}, which the build removes "
                    "(a style may set colours, fonts, sizes and spacing, not position)",
                )
            )
        else:
            found.append(
                Unsafe(
                    re.compile(rf"\b{re.escape(name)}\b", re.IGNORECASE),
                    f"the {name} attribute on <{tag}> is not allowed, and the build removes "
                    "it; remove it",
                )
            )
    return found


def _tag(tag: str) -> Unsafe:
    why = REFUSED_TAGS.get(tag, "the build removes it, keeping its text")
    return Unsafe(re.compile(rf"<{tag}\b", re.IGNORECASE), f"raw HTML <{tag}>: {why}; remove it")


def _url(tag: str, name: str, value: str) -> Unsafe:
    scheme = code_scheme(value)
    if scheme == "data" and tag == "img":
        return Unsafe(
            re.compile(rf"\b{name}\s*=\s*[\"']?\s*data:", re.IGNORECASE),
            "a data: URL in <img src>: Gmail and Outlook show no embedded picture, and the "
            "build removes it; put the file under content/images/",
        )
    return Unsafe(
        re.compile(rf"\b{re.escape(name)}\s*=\s*[\"']?\s*{scheme}:", re.IGNORECASE),
        f"a {scheme}: URL in <{tag} {name}> can run code, and mail clients drop it; "
        "use an https:// URL",
    )
