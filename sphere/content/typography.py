"""Smart punctuation for Python-Markdown: “curly quotes”, ’apostrophes’, – dashes – and …

It does what Python-Markdown's own `smarty` extension does for prose, as one regular-expression
pass over each text node of the finished tree instead of a dozen inline patterns applied one
after another: that stock extension doubled the time of a whole Markdown conversion. Code
spans, code blocks and raw HTML are left alone (the tree holds them as atomic strings or stash
placeholders); attribute values such as URLs are never touched.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from markdown import Markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor
from markdown.util import AtomicString

_SKIP = {"code", "pre", "kbd", "samp", "script", "style", "math"}
# What may stand before an opening quote: nothing, a space, an opening bracket or a dash.
_OPENER_BEFORE = r"(?:(?<=^)|(?<=[\s(\[{\u2014\u2013\-\x02\x03]))"
_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"---"), "\u2014"),
    (re.compile(r"--"), "\u2013"),
    (re.compile(r"\.\.\."), "\u2026"),
    (re.compile(r"'(?=\d\ds\b)"), "\u2019"),  # ’80s
    (re.compile(_OPENER_BEFORE + r'"(?=\S)'), "\u201c"),
    (re.compile(r'"'), "\u201d"),
    (re.compile(_OPENER_BEFORE + r"'(?=\S)"), "\u2018"),
    (re.compile(r"'"), "\u2019"),
]
_OPENS_AFTER = " \t\n([{\u2014\u2013-"
_ANY = re.compile(r"['\"]|--|\.\.\.")


def smarten(text: str, *, after_element: bool = False, before_element: bool = False) -> str:
    """Replace straight quotes, double and triple hyphens and three dots in prose.

    `after_element`: the text follows an inline element (a tail), so a quote at its very
    start closes. `before_element`: an element follows, so a quote at the very end opens
    (as in `"*emphasis*"`).
    """
    if not _ANY.search(text):
        return text
    if after_element and text[:1] in "\"'":
        text = ("\u201d" if text[0] == '"' else "\u2019") + text[1:]
    if before_element and text[-1:] in "\"'" and (len(text) == 1 or text[-2] in _OPENS_AFTER):
        text = text[:-1] + ("\u201c" if text[-1] == '"' else "\u2018")
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


class _Smarten(Treeprocessor):  # type: ignore[misc]  # Markdown ships no types
    def run(self, root: ET.Element) -> None:
        self._walk(root)

    def _walk(self, element: ET.Element, *, followed: bool = False) -> None:
        children = list(element)
        if element.tag not in _SKIP:
            if element.text and not isinstance(element.text, AtomicString):
                element.text = smarten(element.text, before_element=bool(children))
            for index, child in enumerate(children):
                self._walk(child, followed=index + 1 < len(children))
        if element.tail and not isinstance(element.tail, AtomicString):
            element.tail = smarten(element.tail, after_element=True, before_element=followed)


class SmartPunctuation(Extension):  # type: ignore[misc]
    """Register the pass after inline patterns (20) and attribute lists (8): `{width="800"}`
    must be gone before quotes are curled."""

    def extendMarkdown(self, md: Markdown) -> None:
        md.treeprocessors.register(_Smarten(md), "sphere_smarten", 7)
