"""The plain-text part: the issue's HTML body as text that reads well on its own.

Paragraphs are wrapped at 78 columns, lists keep their bullets and numbers, quotes get `> `,
and every link becomes a numbered reference `[n]` listed after the text. A line is longer than
78 only when it holds a URL that cannot be broken.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from html.parser import HTMLParser

WIDTH = 78
_HEADINGS = frozenset(("h1", "h2", "h3", "h4", "h5", "h6"))
_BLOCKS = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote", "pre",
           "table", "tr", "hr", "dl", "dt", "dd"}  # fmt: skip
_HARD_BREAK = "\x0b"  # a <br>, kept apart from the source's own newlines until wrapping
_VOID = {"br", "hr", "img", "input", "meta", "link", "source", "wbr", "col", "area"}


@dataclass
class _Node:
    tag: str
    attrs: dict[str, str]
    children: list[_Node | str] = field(default_factory=list)


class _Tree:
    """The element tree, built from start tags, end tags and text as a parser meets them."""

    def __init__(self) -> None:
        self.root = _Node("root", {})
        self.stack = [self.root]

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        node = _Node(tag, attrs)
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def end(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def data(self, text: str) -> None:
        self.stack[-1].children.append(text)


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tree = _Tree()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tree.start(tag, {k: v or "" for k, v in attrs})

    def handle_endtag(self, tag: str) -> None:
        self.tree.end(tag)

    def handle_data(self, data: str) -> None:
        self.tree.data(data)


def parse(html: str) -> _Node:
    """The element tree of `html`, as html.parser reads it."""
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.tree.root


@dataclass
class PlainText:
    """The text, and the URLs its `[n]` references point to, in order."""

    text: str
    references: list[str]


def html_to_text(html: str, *, width: int = WIDTH) -> PlainText:
    """Convert the issue's body HTML into wrapped text with numbered link references."""
    writer = _Writer(width)
    blocks = writer.blocks(parse(html), width)
    return PlainText(text="\n\n".join(b for b in blocks if b.strip()), references=writer.references)


def wrap(text: str, width: int = WIDTH, *, indent: str = "", hanging: str | None = None) -> str:
    """Wrap at `width` without breaking words or URLs (a longer word gets a line of its own).

    A greedy fill, as textwrap does for prose, at a fraction of its cost: one regular
    expression takes the first line, another all the others (see `_lines`).
    """
    joined = " ".join(text.split())
    if not joined:
        return ""
    if len(indent) + len(joined) <= width:
        return indent + joined
    subsequent = indent if hanging is None else hanging
    first = _lines(width - len(indent)).match(joined)
    assert first is not None  # noqa: S101 (the second branch takes any word)
    rest = _lines(width - len(subsequent)).findall(joined, first.end())
    if subsequent:
        rest = [subsequent + line for line in rest]
    return "\n".join([indent + first.group(1), *rest])


@cache
def _lines(room: int) -> re.Pattern[str]:
    """Lines of at most `room` characters from words joined by single spaces: each as many
    whole words as fit (the longest run followed by a space or the end), else one word alone;
    the space after it is consumed. With no room, every word goes alone."""
    return re.compile(rf"(.{{1,{max(room, 1)}}}(?= |\Z)|[^ ]+) ?", re.DOTALL)


class _Writer:
    def __init__(self, width: int):
        self.width = width
        self.references: list[str] = []

    def reference(self, url: str) -> int:
        if url not in self.references:
            self.references.append(url)
        return self.references.index(url) + 1

    def inline(self, node: _Node | str) -> str:
        if isinstance(node, str):
            return node
        if node.tag == "br":
            return _HARD_BREAK
        if node.tag == "img":
            alt = node.attrs.get("alt", "").strip()
            return f"[{alt}]" if alt else ""
        text = self.inlines(node.children)
        if node.tag == "a":
            href = node.attrs.get("href", "")
            if "footnote-backref" in node.attrs.get("class", ""):
                return ""
            if "footnote-ref" in node.attrs.get("class", ""):
                return f"^{text.strip()}"
            if href and not href.startswith("#"):
                label = " ".join(text.split())
                if label in (href, href.removeprefix("mailto:")):
                    return label
                return f"{text} [{self.reference(href)}]"
        if node.tag in ("strong", "b"):
            return f"*{text}*"
        if node.tag in ("em", "i"):
            return f"_{text}_"
        return text

    def inlines(self, nodes: list[_Node | str]) -> str:
        return "".join([self.inline(node) for node in nodes])

    def paragraph(self, node: _Node, width: int) -> str:
        return self.wrapped(self.inlines(node.children), width)

    def wrapped(self, text: str, width: int) -> str:
        return "\n".join([wrap(line, width) for line in text.split(_HARD_BREAK)])

    def blocks(self, node: _Node, width: int) -> list[str]:
        """Each block-level child rendered, in order; loose inline text becomes a paragraph."""
        out: list[str] = []
        loose: list[_Node | str] = []

        def flush() -> None:
            # Converted once: converting again would give the same (a link's reference
            # number is kept from the first time).
            text = self.inlines(loose) if loose else ""
            if text.strip():
                out.append(self.wrapped(text, width))
            loose.clear()

        for child in node.children:
            if isinstance(child, str) or child.tag not in _BLOCKS:
                loose.append(child)
                continue
            flush()
            if text := self.block(child, width):  # an empty block leaves no blank lines
                out.append(text)
        flush()
        return out

    def block(self, node: _Node, width: int) -> str:
        tag = node.tag
        if tag in ("p", "dt"):
            return self.paragraph(node, width)
        if tag in _HEADINGS:
            title = self.paragraph(node, width)
            if not title.strip():  # `##` alone, or a heading that is only a picture
                return ""
            rule = "=" if tag in ("h1", "h2") else "-"
            return f"{title}\n{rule * min(len(title.splitlines()[-1]), width)}"
        if tag in ("ul", "ol"):
            return self.listing(node, width)
        if tag in ("blockquote", "dd"):
            prefix = "> " if tag == "blockquote" else "    "
            inner = "\n\n".join(self.blocks(node, width - len(prefix)))
            return "\n".join((prefix + line).rstrip() for line in inner.splitlines())
        if tag == "pre":
            return self.inlines(node.children).rstrip("\n")
        if tag == "hr":
            return "-" * min(width, 20)
        if tag == "table":
            return self.table(node)
        return "\n\n".join(self.blocks(node, width))

    def listing(self, node: _Node, width: int) -> str:
        items = [c for c in node.children if isinstance(c, _Node) and c.tag == "li"]
        start = _start(node.attrs.get("start", ""))
        lines = []
        for number, item in enumerate(items, start=start):
            marker = f"{number}. " if node.tag == "ol" else "- "
            body = "\n\n".join(self.blocks(item, width - len(marker)))
            pad = " " * len(marker)
            lines.append("\n".join(
                (marker if index == 0 else pad) + line if line else ""
                for index, line in enumerate(body.splitlines())
            ))  # fmt: skip
        return "\n".join(lines)

    def table(self, node: _Node) -> str:
        rows = []
        for row in _descendants(node, "tr"):
            cells = [c for c in row.children if isinstance(c, _Node) and c.tag in ("td", "th")]
            rows.append(" | ".join(" ".join(self.inline(c).split()) for c in cells))
        return "\n".join(rows)


def _start(value: str) -> int:
    """An <ol start> as browsers read it: a whole number (else 1), `start="x"` included."""
    match = re.match(r"\s*([+-]?\d{1,9})", value)
    return int(match.group(1)) if match else 1


def _descendants(node: _Node, tag: str) -> list[_Node]:
    found = []
    for child in node.children:
        if isinstance(child, _Node):
            if child.tag == tag:
                found.append(child)
            else:
                found.extend(_descendants(child, tag))
    return found
