"""Python-Markdown's inline pass, without trying patterns that cannot match.

The stock `InlineProcessor` runs every inline pattern's regular expression over every text
of the tree: fifteen searches for a sentence that holds no `*`, `[`, `<` or `&`, about a
fifth of a whole conversion. Most patterns cannot match text that lacks one particular
character (a link needs `[`, an entity `&`), so this subclass first looks for those
characters with `in`, which costs a tenth of a search, and tries only the patterns whose
characters are there.

Why the output stays the same: the stock pass, given a pattern whose expression finds no
match, leaves the text as it is, touches no state and moves on to the next pattern from
position 0; a skipped pattern does exactly that. A match replaces text with a placeholder
(STX, letters, digits, ETX), so the text never gains a trigger it did not hold. `TRIGGERS`
lists, for the exact source of each expression, strings of which every match (lookaheads
included) must contain one; an expression not listed, say changed by an upgrade, is always
applied. tests/test_inline.py pins the stock methods this relies on and renders a corpus of
tricky Markdown both ways.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from markdown import Markdown, util
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor as InlinePattern
from markdown.inlinepatterns import Pattern
from markdown.treeprocessors import InlineProcessor

# The source of a pattern's expression -> strings of which each match holds at least one.
# Copied from Python-Markdown 3.x rather than imported, so that a changed expression is no
# longer found here (and is then always applied) instead of keeping a stale trigger.
TRIGGERS: dict[str, tuple[str, ...]] = {
    r"(?:(?<!\\)((?:\\{2})+)(?=`+)|(?<!\\)`)": ("`",),  # backtick (its lookahead holds a `)
    r"\\(.)": ("\\",),  # escape
    r"\[\^([^\]]*)\]": ("[^",),  # footnote reference
    r"(?<!\!)\[": ("[",),  # reference, link, short_reference
    r"\!\[": ("![",),  # image_link, image_reference, short_image_ref
    r"<([A-Za-z][A-Za-z0-9+.-]*://[^<>]*)>": ("<",),  # autolink
    r"<([^<> !]+@[^@<> ]+)>": ("<",),  # automail
    r"  \n": ("  \n",),  # linebreak
    (  # html
        r"""(<(\/?+[a-zA-Z][^\s"'<>@]*+(?:\s+[^\s"'=<>]++(?:\s*+=\s*+(?:"[^"]*+"|'[^']*+'"""
        r"""|[^\s"'=<>]++))?+)*+\s*+/?|!--(?:(?!<!--|-->).)*--|[?](?:(?!<[?]|[?]>).)*[?]|"""
        r"""!\[CDATA\[(?:(?!<!\[CDATA\[|\]\]>).)*\]\])>)"""
    ): ("<",),
    r"(&(?:\#[0-9]+|\#x[0-9a-fA-F]+|[a-zA-Z0-9]+);)": ("&",),  # entity
    r"\*|_": ("*", "_"),  # em_strong (DelimiterProcessor)
}


def triggers(pattern: InlinePattern | Pattern) -> tuple[str, ...] | None:
    """What `pattern` needs to find in a text to match there; None: always apply it.

    Old-style patterns match differently (anchored, on a slice), so they are never skipped.
    """
    if not isinstance(pattern, InlinePattern):
        return None
    return TRIGGERS.get(pattern.getCompiledRegExp().pattern)


class GuardedInlineProcessor(InlineProcessor):  # type: ignore[misc]  # Markdown ships no types
    """The stock inline pass; a pattern is skipped where none of its triggers is left."""

    def run(self, tree: ET.Element, ancestors: list[str] | None = None) -> ET.Element:
        # The patterns in order, and their triggers, once per conversion: the registry does
        # not change during one, and an extension may have changed it since the last.
        self._patterns = list(self.inlinePatterns)
        self._triggers = [triggers(pattern) for pattern in self._patterns]
        self._needles = sorted({n for wanted in self._triggers if wanted for n in wanted})
        self._candidates: dict[frozenset[str], list[int]] = {}
        result: ET.Element = super().run(tree, ancestors)
        return result

    def _InlineProcessor__handleInline(self, data: str, patternIndex: int = 0) -> str:
        """Stock `__handleInline` (name-mangled, so this replaces it for every caller in the
        base class), trying only the patterns whose triggers `data` holds."""
        if isinstance(data, util.AtomicString):
            return data  # type: ignore[no-any-return]  # (an AtomicString is a str)
        apply = self._InlineProcessor__applyPattern
        for index in self._candidates_for(data):
            if index < patternIndex:
                continue
            # As the stock loop: the same pattern again after each match, from past it.
            pattern, matched, start = self._patterns[index], True, 0
            while matched:
                data, matched, start = apply(pattern, data, index, start)
        return data

    def _candidates_for(self, data: str) -> list[int]:
        """The indices of the patterns that may match in `data`, or anything it becomes here:
        a match only ever gives way to a placeholder, which holds no trigger."""
        present = frozenset([needle for needle in self._needles if needle in data])
        candidates = self._candidates.get(present)
        if candidates is None:
            candidates = self._candidates[present] = [
                index
                for index, wanted in enumerate(self._triggers)
                if wanted is None or not present.isdisjoint(wanted)
            ]
        return candidates


class InlineGuard(Extension):  # type: ignore[misc]
    """Replace the stock inline pass with the guarded one, at the stock priority (20)."""

    def extendMarkdown(self, md: Markdown) -> None:
        md.treeprocessors.register(GuardedInlineProcessor(md), "inline", 20)
