"""The guarded block processors parse exactly as Python-Markdown's own do.

tests/test_inline.py renders the corpus with both guards and without: these tests show that
the corpus notices a wrong guard, and pin what the guards rely on.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import random

import markdown
import pytest
from markdown_samples import CONTENT, differences

from sphere.content import blocks
from sphere.content.blocks import PREPROCESSORS, GuardedBlockParser, guard_blocks, needles
from sphere.content.markup import MarkdownRenderer

# The stock methods the guards rely on, as in Python-Markdown 3.11.3: `test` that searches,
# `run` that puts back a block it finds nothing in, the parser's loop over processors. If an
# upgrade changes one, read the new source, check sphere/content/blocks.py, then update.
STOCK_SOURCES = {
    ("markdown.blockprocessors.HashHeaderProcessor", "test"): "b05b7970153b822e",
    ("markdown.blockprocessors.SetextHeaderProcessor", "test"): "f4517c337decc072",
    ("markdown.blockprocessors.HRProcessor", "test"): "d97db1d673f15c75",
    ("markdown.extensions.def_list.DefListProcessor", "test"): "b05b7970153b822e",
    ("markdown.blockprocessors.BlockQuoteProcessor", "test"): "342a21ffb26b7052",
    ("markdown.extensions.footnotes.FootnoteBlockProcessor", "test"): "889d3dacebfb92cd",
    ("markdown.extensions.footnotes.FootnoteBlockProcessor", "run"): "62765fec9d331a31",
    ("markdown.extensions.abbr.AbbrBlockprocessor", "test"): "889d3dacebfb92cd",
    ("markdown.extensions.abbr.AbbrBlockprocessor", "run"): "b56be8a6fce5a243",
    ("markdown.blockprocessors.ReferenceProcessor", "test"): "889d3dacebfb92cd",
    ("markdown.blockprocessors.ReferenceProcessor", "run"): "03ec47f76da0d6f4",
    ("markdown.blockparser.BlockParser", "parseBlocks"): "1737e188f149267b",
    ("markdown.preprocessors.NormalizeWhitespace", "run"): "a99bc2f9e0d83abc",
    ("markdown.preprocessors.HtmlBlockPreprocessor", "run"): "0e55181cf96c0cd6",
    ("markdown.htmlparser.HTMLExtractor", "handle_data"): "c960f7f3b2836221",
    ("markdown.htmlparser.HTMLExtractor", "close"): "6c2a6b4fd7606df4",
}


def test_a_wrong_needle_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The corpus is tricky enough to notice any one needle missing."""
    for name, (attribute, source, wanted) in list(blocks.GUARDS.items()):
        for missing in wanted:
            fewer = tuple(needle for needle in wanted if needle != missing) or ("\x00",)
            monkeypatch.setitem(blocks.GUARDS, name, (attribute, source, fewer))
            assert next(differences(2000), None), f"nothing noticed {missing!r} gone for {name}"
        monkeypatch.setitem(blocks.GUARDS, name, (attribute, source, wanted))


def test_every_known_processor_is_guarded() -> None:
    """An upgrade that changes an expression leaves it unguarded: correct, but slow."""
    md = MarkdownRenderer(CONTENT)._md  # noqa: SLF001 (the converter the build uses)
    assert isinstance(md.parser, GuardedBlockParser)
    guarded = [p for p in md.parser.blockprocessors if needles(p) is not None]
    assert len(guarded) == len(blocks.GUARDS)
    assert md.parser.guards == {p: needles(p) for p in guarded}


@pytest.mark.parametrize(("name", "method"), sorted(STOCK_SOURCES))
def test_stock_methods_are_those_the_guards_were_written_for(name: str, method: str) -> None:
    module, _, cls = name.rpartition(".")
    source = inspect.getsource(getattr(importlib.import_module(module), cls).__dict__[method])
    assert hashlib.sha256(source.encode()).hexdigest()[:16] == STOCK_SOURCES[(name, method)]


def _lines(rng: random.Random, alphabet: list[str]) -> list[str]:
    text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
    return text.split("\n")


@pytest.mark.parametrize("name", sorted(PREPROCESSORS))
def test_preprocessors_give_what_the_stock_ones_do(name: str) -> None:
    stock_class, guarded_class, _ = PREPROCESSORS[name]
    md = markdown.Markdown()
    stock, guarded = stock_class(md), guarded_class(md)
    rng = random.Random(5)
    alphabet = ["a", " ", "  ", "\n", "\r", "\r\n", "\t", "\x02", "\x03", "x y", "&", "&amp;"]
    alphabet += ["&#1", "<", "<p>", "</p>", "<br/>", "<!--", "-->", "\n\n"]
    samples = [[], [""], *(_lines(rng, alphabet) for _ in range(3000))]
    samples += [_lines(rng, [a for a in alphabet if "<" not in a and "&" not in a])
                for _ in range(3000)]  # fmt: skip
    for lines in samples:
        md.reset()
        expected = stock.run(list(lines))
        md.reset()
        assert guarded.run(list(lines)) == expected, lines


def test_preprocessors_keep_their_places() -> None:
    stock = markdown.Markdown()
    guarded = markdown.Markdown()
    guard_blocks(guarded)
    priorities = {p.name: p.priority for p in stock.preprocessors._priority}  # noqa: SLF001
    assert {name: priorities[name] for name in PREPROCESSORS} == {
        name: priority for name, (_, _, priority) in PREPROCESSORS.items()
    }
    assert [type(p).__name__ for p in guarded.preprocessors] == ["_Whitespace", "_HtmlBlocks"]
    assert len(list(stock.preprocessors)) == 2
