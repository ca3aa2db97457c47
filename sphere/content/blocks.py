"""Python-Markdown's block parsing, without searches that cannot match.

For each block of text (a paragraph, most often), the parser asks every block processor in
turn whether the block is theirs, and several answer with a regular-expression search over
the whole block that has no literal to start from: a heading is `#` after a line start, a
quote `>` after one. A third of a conversion went there. `guard_blocks` puts a `str.find`
for a character every match must hold (`#`, `>`...) in front of those processors' `test`;
without it, the answer is no, as the search would have said.

For the processors whose `test` always says yes and whose `run` searches (footnote, abbr
and reference definitions), a run that finds nothing puts the block back and returns False,
which is what the parser does when `test` says no: the guard answers no for them too.

Each guarded processor is found by its exact class and the exact source of its expression,
copied here rather than imported, so that an upgrade that changes either leaves it unguarded
(correct, only slower). tests/test_blocks.py pins the methods this relies on and renders a
corpus of tricky Markdown both ways.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable

from markdown import Markdown
from markdown.blockprocessors import BlockProcessor

Test = Callable[[ET.Element, str], bool]

# Processor class -> (its attribute holding the expression, that expression's source, the
# strings of which every block the processor takes holds at least one).
GUARDS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "markdown.blockprocessors.HashHeaderProcessor": (
        "RE",
        r"(?:^|\n)(?P<level>#{1,6})(?P<header>(?:\\.|[^\\#]|#+(?=[^#\n]))*?)#*(?:\n|$)",
        ("#",),
    ),
    "markdown.blockprocessors.SetextHeaderProcessor": (  # matched at 0: `.` stops at \n
        "RE",
        r"^.*?\n(?:=+|-+)[ ]*(\n|$)",
        ("\n=", "\n-"),
    ),
    "markdown.blockprocessors.HRProcessor": (
        "SEARCH_RE",
        r"^[ ]{0,3}(?=(?P<atomicgroup>(-+[ ]{0,2}){3,}|(_+[ ]{0,2}){3,}|(\*+[ ]{0,2}){3,}))"
        r"(?P=atomicgroup)[ ]*$",
        ("-", "_", "*"),
    ),
    "markdown.extensions.def_list.DefListProcessor": (
        "RE",
        r"(^|\n)[ ]{0,3}:[ ]{1,3}(.*?)(\n|$)",
        (":",),
    ),
    "markdown.blockprocessors.BlockQuoteProcessor": ("RE", r"(^|\n)[ ]{0,3}>[ ]?(.*)", (">",)),
    "markdown.extensions.footnotes.FootnoteBlockProcessor": (
        "RE",
        r"^[ ]{0,3}\[\^([^\]]*)\]:[ ]*(.*)$",
        ("]:",),
    ),
    "markdown.extensions.abbr.AbbrBlockprocessor": (
        "RE",
        r"^[*]\[(?P<abbr>[^\\]*?)\][ ]?:[ ]*\n?[ ]*(?P<title>.*)$",
        ("*[",),
    ),
    "markdown.blockprocessors.ReferenceProcessor": (
        "RE",
        r"^[ ]{0,3}\[([^\[\]]*)\]:[ ]*(?:\n[ ]*)?([^\s]+)[ ]*(?:\n[ ]*)?"
        r"""((["\'])(.*)\4[ ]*|\((.*)\)[ ]*)?$""",
        ("]:",),
    ),
}


def needles(processor: BlockProcessor) -> tuple[str, ...] | None:
    """What a block must hold for `processor` to take it; None: no guard known for it."""
    cls = type(processor)
    guard = GUARDS.get(f"{cls.__module__}.{cls.__qualname__}")
    if guard is None:
        return None
    attribute, source, wanted = guard
    expression = getattr(processor, attribute, None)
    return wanted if getattr(expression, "pattern", None) == source else None


def guard_blocks(md: Markdown) -> None:
    """Guard the `test` of every known block processor of `md` (once its extensions are in)."""
    for processor in md.parser.blockprocessors:
        wanted = needles(processor)
        if wanted is not None:
            # On the instance, so that the registry (names, priorities, order) is untouched.
            processor.test = _guarded(processor.test, wanted)


def _guarded(test: Test, wanted: tuple[str, ...]) -> Test:
    def guarded(parent: ET.Element, block: str) -> bool:
        for needle in wanted:
            if needle in block:
                return test(parent, block)
        return False

    return guarded
