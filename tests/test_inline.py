"""The guarded inline pass renders exactly what Python-Markdown's own does."""

from __future__ import annotations

import hashlib
import inspect

import markdown
import pytest
from markdown.treeprocessors import InlineProcessor
from markdown_samples import CONTENT, differences

from sphere.content import inline
from sphere.content.inline import GuardedInlineProcessor, InlineGuard, triggers
from sphere.content.markup import EXTENSIONS, MarkdownRenderer

# The stock methods the guard copies or relies on, as in Python-Markdown 3.11.3. If an upgrade
# changes them, read the new source, check GuardedInlineProcessor against it, then update.
STOCK_SOURCES = {
    "_InlineProcessor__handleInline": "fe27babc114aed0a",
    "_InlineProcessor__applyPattern": "8862b35197c0e614",
}


def test_same_html_as_python_markdowns_own_passes() -> None:
    """Guarded inline patterns and block processors (see also tests/test_blocks.py)."""
    assert list(differences(2000)) == []


def test_a_wrong_trigger_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The corpus is tricky enough to notice any one trigger missing."""
    for source, wanted in list(inline.TRIGGERS.items()):
        for missing in wanted:
            fewer = tuple(needle for needle in wanted if needle != missing) or ("\x00",)
            monkeypatch.setitem(inline.TRIGGERS, source, fewer)
            assert next(differences(2000), None), (
                f"nothing noticed {missing!r} missing for {source!r}"
            )
        monkeypatch.setitem(inline.TRIGGERS, source, wanted)


def test_every_pattern_is_guarded() -> None:
    """An upgrade that changes an expression leaves it unguarded: correct, but slow."""
    md = MarkdownRenderer(CONTENT)._md  # noqa: SLF001 (the converter the build uses)
    assert isinstance(md.treeprocessors["inline"], GuardedInlineProcessor)
    assert [pattern for pattern in md.inlinePatterns if triggers(pattern) is None] == []


def test_same_place_among_tree_processors() -> None:
    """The stock pass's priority is 20, and the guarded one runs where it did."""
    stock = markdown.Markdown(extensions=EXTENSIONS)
    priorities = stock.treeprocessors._priority  # noqa: SLF001 (no public way to read one)
    assert [(p.name, p.priority) for p in priorities if p.name == "inline"] == [("inline", 20)]
    guarded = markdown.Markdown(extensions=[*EXTENSIONS, InlineGuard()])
    assert _order(guarded) == _order(stock)


def _order(md: markdown.Markdown) -> list[str]:
    names = list(md.treeprocessors._data)  # noqa: SLF001 (no public list of names)
    return sorted(names, key=md.treeprocessors.get_index_for_name)


@pytest.mark.parametrize("name", sorted(STOCK_SOURCES))
def test_stock_methods_are_those_the_guard_was_written_for(name: str) -> None:
    source = inspect.getsource(getattr(InlineProcessor, name))
    assert hashlib.sha256(source.encode()).hexdigest()[:16] == STOCK_SOURCES[name]
