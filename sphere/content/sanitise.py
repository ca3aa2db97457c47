"""Every issue body through an allowlist sanitiser (nh3, the Rust ammonia) before anything
else sees it.

Markdown passes an author's raw HTML through, and an issue may come from a guest's pull
request. A check that reads HTML as Python's `html.parser` does is not enough: browsers read
`<!-->` as a whole empty comment, `html.parser` as the start of one, so what follows it was
invisible to the check and live in the archive, the feed and every inbox. nh3 parses as
browsers do (html5ever) and keeps only what is listed here, so the build's output holds only
this markup whatever the source says; `sphere check` reports what it takes out (`removals`).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from html.parser import HTMLParser

import nh3

# What Python-Markdown and its extensions write, and what an author may write by hand.
TAGS = frozenset(
    {"a", "abbr", "b", "bdi", "bdo", "blockquote", "br", "caption", "cite", "code", "col",
     "colgroup", "dd", "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption",
     "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li",
     "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strong", "sub", "summary",
     "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u", "ul", "var",
     "wbr"}
)  # fmt: skip
_EVERYWHERE = {"class", "dir", "id", "lang", "style", "title"}
ATTRIBUTES: dict[str, set[str]] = {
    "*": _EVERYWHERE,
    "a": {"href", "name"},
    "img": {"src", "alt", "width", "height", "loading"},
    "ol": {"start", "reversed", "type"},
    "td": {"colspan", "rowspan", "headers"},
    "th": {"colspan", "rowspan", "headers", "scope"},
    "col": {"span"},
    "colgroup": {"span"},
    "time": {"datetime"},
    "q": {"cite"},
    "blockquote": {"cite"},
    "del": {"datetime"},
    "ins": {"datetime"},
    "details": {"open"},
}
# A style may set how text and boxes look, never where they sit on the page (a `position:
# fixed` box over the whole archive page) or what it loads (`background-image: url(...)`).
STYLE_PROPERTIES = frozenset(
    {"color", "background-color", "text-align", "text-decoration", "font-weight",
     "font-style", "font-size", "font-family", "line-height", "vertical-align", "white-space",
     "width", "max-width", "min-width", "height", "max-height", "margin", "margin-top",
     "margin-right", "margin-bottom", "margin-left", "padding", "padding-top",
     "padding-right", "padding-bottom", "padding-left", "border", "border-top",
     "border-right", "border-bottom", "border-left", "border-collapse", "border-radius",
     "display", "letter-spacing", "text-transform", "list-style-type"}
)  # fmt: skip
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})

# How browsers read the body when nothing is taken out: the sanitiser with everything it knows
# allowed. `removals` compares the two, so that both were read by the same parser.
_ANY_TAGS = TAGS | {
    "script", "noscript", "style", "form", "input", "button", "select", "option", "textarea",
    "iframe", "frame", "frameset", "object", "embed", "applet", "param", "base", "meta",
    "link", "svg", "math", "template", "video", "audio", "source", "track", "canvas",
    "picture", "dialog", "marquee", "map", "area", "center", "font", "label", "fieldset",
    "legend", "nav", "section", "article", "aside", "header", "footer", "main", "hgroup",
    "ruby", "rt", "rp", "data", "output", "meter", "progress", "slot", "portal", "xmp",
    "listing", "plaintext", "noembed", "noframes", "title", "head", "body", "html",
}  # fmt: skip
_ANY_ATTRIBUTES = {
    "*": {
        *_EVERYWHERE, *{a for names in ATTRIBUTES.values() for a in names},
        "action", "formaction", "background", "poster", "data", "srcdoc", "srcset", "sizes",
        "http-equiv", "content", "charset", "rel", "target", "type", "value", "name", "for",
        "method", "enctype", "align", "bgcolor", "border", "color", "face", "size", "tabindex",
        "role", "hidden", "autofocus", "contenteditable", "draggable", "accesskey", "ping",
        "download", "usemap", "ismap", "coords", "shape", "xmlns", "xlink:href", "is",
        "popover", "inert", "nonce", "integrity", "crossorigin", "referrerpolicy",
        "allow", "sandbox", "codebase", "classid", "archive", "open", "label",
    }
}  # fmt: skip
_ANY_SCHEMES = URL_SCHEMES | {"javascript", "vbscript", "data", "file", "ftp", "blob", "about"}


# Each a reusable nh3.Cleaner: made once, they halve what sanitising costs (nh3.clean
# converts its allowlists from Python to Rust on every call).
_ALLOWED = nh3.Cleaner(
    tags=set(TAGS),
    attributes=ATTRIBUTES,
    url_schemes=set(URL_SCHEMES),
    filter_style_properties=set(STYLE_PROPERTIES),
    link_rel=None,
    strip_comments=True,
)
_AS_READ = nh3.Cleaner(
    tags=set(_ANY_TAGS),
    clean_content_tags=set(),
    attributes=_ANY_ATTRIBUTES,
    generic_attribute_prefixes={"on", "data-", "aria-"},
    url_schemes=set(_ANY_SCHEMES),
    link_rel=None,
    strip_comments=True,
)


def sanitise(html: str) -> str:
    """`html` with only the allowed tags, attributes, style properties and URL schemes.

    Links keep their `rel` as written (nh3 would add `noopener noreferrer`, which a link
    without `target` does not need); comments go.
    """
    return _ALLOWED.clean(html)


def as_browsers_read(html: str) -> str:
    """`html` parsed as browsers do and written out again, keeping all but comments: what
    `sphere check` reads, so that no markup hides from it behind a quirk of `html.parser`."""
    return _AS_READ.clean(html)


@dataclass(frozen=True)
class Removal:
    """Something the sanitiser takes out: a whole tag, or one attribute (`attribute`) of one,
    or part of a style (`attribute` is "style", `value` the declarations dropped)."""

    tag: str
    attribute: str | None = None
    value: str = ""


class _StartTags(HTMLParser):
    """The start tags and their attributes, in order (of sanitiser output, so html.parser
    reads it as a browser would: html5ever's serialisation is unambiguous)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {name: value or "" for name, value in attrs}))

    handle_startendtag = handle_starttag


def start_tags(html: str) -> list[tuple[str, dict[str, str]]]:
    parser = _StartTags()
    parser.feed(html)
    parser.close()
    return parser.tags


def removals(read: str, kept: str) -> list[Removal]:
    """What `sanitise` took out of `read` (as_browsers_read of the source) to give `kept`, in
    document order."""
    before, after = start_tags(read), start_tags(kept)
    matcher = difflib.SequenceMatcher(
        None, [tag for tag, _ in before], [tag for tag, _ in after], autojunk=False
    )
    found: list[Removal] = []
    for op, i1, i2, j1, _j2 in matcher.get_opcodes():
        if op in ("delete", "replace"):
            found += [Removal(tag) for tag, _ in before[i1:i2]]
        elif op == "equal":
            for (tag, was), (_, now) in zip(before[i1:i2], after[j1 : j1 + i2 - i1], strict=True):
                found += _attribute_removals(tag, was, now)
    return found


def _attribute_removals(tag: str, was: dict[str, str], now: dict[str, str]) -> list[Removal]:
    found = []
    for name, value in was.items():
        if name not in now:
            found.append(Removal(tag, name, value))
        elif name == "style" and now[name] != value:
            kept = {part.split(":", 1)[0].strip().lower() for part in now[name].split(";")}
            dropped = [
                part.strip()
                for part in value.split(";")
                if part.strip() and part.split(":", 1)[0].strip().lower() not in kept
            ]
            if dropped:
                found.append(Removal(tag, "style", "; ".join(dropped)))
    return found
