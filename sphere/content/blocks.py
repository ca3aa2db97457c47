"""Python-Markdown's block parsing, without searches that cannot match.

For each block of text (a paragraph, most often), the parser asks every block processor in
turn whether the block is theirs, and several answer with a regular-expression search over
the whole block that has no literal to start from: a heading is `#` after a line start, a
quote `>` after one. A third of a conversion went there. `guard_blocks` makes the parser
look first for a string every match must hold (`#`, `>`...) with `in`; without it, the
processor is not asked, as its search would have said no.

For the processors whose `test` always says yes and whose `run` searches (footnote, abbr
and reference definitions), a run that finds nothing puts the block back and returns False,
which is what the parser does when `test` says no: the guard answers no for them too.

Each guarded processor is found by its exact class and the exact source of its expression,
copied here rather than imported, so that an upgrade that changes either leaves it unguarded
(correct, only slower). Two preprocessors that scan the whole text are replaced by twins
that skip the scan where it cannot change anything. tests/test_blocks.py pins the methods
this relies on and compares the twins with the stock ones; tests/test_inline.py renders a
corpus of tricky Markdown both ways.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from markdown import Markdown, util
from markdown.blockparser import BlockParser
from markdown.blockprocessors import BlockProcessor
from markdown.preprocessors import HtmlBlockPreprocessor, NormalizeWhitespace, Preprocessor

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
    """Guard every known block processor of `md` (once its extensions are in), and replace
    the two preprocessors that scan the whole text with the guarded ones below."""
    for name, (stock, guarded, priority) in PREPROCESSORS.items():
        if type(md.preprocessors[name]) is stock:  # (not replaced by another extension)
            md.preprocessors.register(guarded(md), name, priority)
    parser = md.parser
    if type(parser) is BlockParser:
        # Python-Markdown builds its parser itself and every processor holds it, so it cannot
        # be swapped for another object: it becomes a GuardedBlockParser (only parseBlocks differs).
        parser.__class__ = GuardedBlockParser
        parser.guards = {p: wanted for p in parser.blockprocessors if (wanted := needles(p))}


class GuardedBlockParser(BlockParser):  # type: ignore[misc]  # Markdown ships no types
    """The stock parser; a guarded processor is not asked about a block without its needles."""

    guards: dict[BlockProcessor, tuple[str, ...]]

    def parseBlocks(self, parent: ET.Element, blocks: list[str]) -> None:
        """Stock `parseBlocks`, with the needle check before each guarded `test`."""
        guards = self.guards
        # Once per call rather than per block: no processor registers another while parsing.
        processors = [(processor, guards.get(processor)) for processor in self.blockprocessors]
        while blocks:
            for processor, wanted in processors:
                if wanted is not None:
                    for needle in wanted:
                        if needle in blocks[0]:
                            break
                    else:
                        continue  # what `test` would say: no
                # (A run that returns False did not take the block: the next one is asked.)
                if processor.test(parent, blocks[0]) and processor.run(parent, blocks) is not False:
                    break


class _Whitespace(NormalizeWhitespace):  # type: ignore[misc]  # Markdown ships no types
    """The stock `run`, but the search for lines of spaces only runs if the text holds a
    space before a newline, which every match does: the search costs as much as the rest."""

    def run(self, lines: list[str]) -> list[str]:
        source = "\n".join(lines)
        source = source.replace(util.STX, "").replace(util.ETX, "")
        source = source.replace("\r\n", "\n").replace("\r", "\n") + "\n\n"
        source = source.expandtabs(self.md.tab_length)
        if " \n" in source:
            source = re.sub(r"(?<=\n) +\n", "\n", source)
        return source.split("\n")


class _HtmlBlocks(HtmlBlockPreprocessor):  # type: ignore[misc]
    """The stock pass, skipped for text without `<` or `&`: html.parser then hands the
    whole text to `handle_data` in one piece, which the stock pass gives back unchanged."""

    def run(self, lines: list[str]) -> list[str]:
        if lines and not any("<" in line or "&" in line for line in lines):
            return lines
        result: list[str] = super().run(lines)
        return result


# name -> (the stock preprocessor, its guarded twin, the stock priority)
PREPROCESSORS: dict[str, tuple[type[Preprocessor], type[Preprocessor], int]] = {
    "normalize_whitespace": (NormalizeWhitespace, _Whitespace, 30),
    "html_block": (HtmlBlockPreprocessor, _HtmlBlocks, 20),
}
