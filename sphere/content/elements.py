"""The sanitised body's elements, adjusted for every reader: one pass over its tags.

It runs on the sanitiser's output, never on the author's source: html5ever writes every tag
the same way (attribute values in double quotes, `"` and `<` escaped), so a regular expression
reads it exactly. Markdown images and raw `<img>` are one thing here: both are checked, sized
and published alike, which the Markdown tree could not do (raw HTML never enters it).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Collection
from urllib.parse import urlsplit

# A tag as html5ever writes it: name, then attributes each `name` or `name="value"`.
_TAG = re.compile(r'<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^\s"\'<>/=]+(?:="[^"]*")?)*)\s*(/?)>')
_ATTRIBUTE = re.compile(r'([^\s"\'<>/=]+)(?:="([^"]*)")?')
_LINK = re.compile(r'(<a\s[^>]*?href="([^"]*)"[^>]*>)([^<]*)(</a>)')

# Blocks whose direction follows their own text (Arabic, Hebrew), not the page's.
DIR_AUTO = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "dl", "dt", "dd", "blockquote",
     "td", "th", "caption", "figcaption", "summary"}
)  # fmt: skip
LONG_URL = 60  # characters: a bare URL longer than this is shown shortened


class Tag:
    """One start tag: its name and attributes (values unescaped), in their order."""

    # A plain class with slots: a rewrite makes one for each of the body's tags, three times
    # an issue, and a dataclass's were a fifth of its time.
    __slots__ = ("attributes", "closed", "name")

    def __init__(
        self, name: str, attributes: dict[str, str] | None = None, *, closed: bool = False
    ):
        self.name = name
        self.attributes = {} if attributes is None else attributes
        self.closed = closed  # written as <x/>

    def get(self, name: str) -> str:
        return self.attributes.get(name, "")

    def html(self) -> str:
        parts = [
            f' {name}="{html.escape(value, quote=True)}"' for name, value in self.attributes.items()
        ]
        return f"<{self.name}{''.join(parts)}{'/' if self.closed else ''}>"


def rewrite(
    body: str,
    change: Callable[[Tag, list[str]], Tag | None],
    only: Collection[str] | None = None,
) -> str:
    """`body` with each start tag passed to `change` (with the names of the elements open
    around it); a Tag it returns replaces the tag, None keeps it as it was. `only`: the tag
    names `change` acts on (the others are not read into Tags at all)."""
    open_elements: list[str] = []
    parts: list[str] = []
    last = 0
    for match in _TAG.finditer(body):
        closing, name, written, closed = match.groups()
        name = name.lower()
        if closing:
            if name in open_elements:
                del open_elements[len(open_elements) - 1 - open_elements[::-1].index(name) :]
            continue
        if only is not None and name not in only:
            if name not in _VOID:
                open_elements.append(name)
            continue
        attributes = (
            {key.lower(): html.unescape(value) for key, value in _ATTRIBUTE.findall(written)}
            if written
            else {}
        )
        changed = change(Tag(name, attributes, closed=bool(closed)), open_elements)
        if changed is not None:
            parts += [body[last : match.start()], changed.html()]
            last = match.end()
        if name not in _VOID:
            open_elements.append(name)
    return "".join(parts) + body[last:] if parts else body


_VOID = frozenset({"br", "hr", "img", "wbr", "col"})


def for_every_reader(tag: Tag, open_elements: list[str]) -> Tag | None:
    """The adjustments every copy of the body gets: `dir="auto"` on blocks, and `scope` on
    header cells (a screen reader then says which header a cell is under)."""
    changed = False
    if tag.name in DIR_AUTO and "dir" not in tag.attributes:
        tag.attributes["dir"] = "auto"
        changed = True
    if tag.name == "th" and "scope" not in tag.attributes:
        tag.attributes["scope"] = "col" if "thead" in open_elements else "row"
        changed = True
    return tag if changed else None


def shorten_bare_links(body: str) -> str:
    """A link whose text is its own long URL shows `host/…/last-part` instead: an unbroken
    388-character URL runs out of the column in Yahoo, AOL and Outlook.com. The link still
    goes to the whole URL, and the text part lists it whole."""

    def shorten(match: re.Match[str]) -> str:
        href, text = html.unescape(match.group(2)), html.unescape(match.group(3))
        if text != href or len(text) <= LONG_URL:
            return match.group(0)
        return f"{match.group(1)}{html.escape(short_url(href), quote=False)}{match.group(4)}"

    return _LINK.sub(shorten, body)


def short_url(url: str) -> str:
    """`www.example.com/…/report.pdf`: the host and the last part of the path, cut to fit."""
    parts = urlsplit(url)
    host = parts.netloc or url[:30]
    segments = [segment for segment in parts.path.split("/") if segment]
    last = segments[-1] if segments else ""
    if len(last) > 24:
        last = last[:23] + "…"
    shown = f"{host}/…/{last}" if len(segments) > 1 else f"{host}/{last}"
    return shown if len(shown) < len(url) else url
