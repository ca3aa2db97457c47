"""The guarded inline pass renders exactly what Python-Markdown's own does."""

from __future__ import annotations

import datetime as dt
import hashlib
import inspect
from collections.abc import Iterator
from pathlib import Path

import markdown
import pytest
from markdown.treeprocessors import InlineProcessor
from markdown_samples import documents

from sphere.content import inline
from sphere.content.inline import GuardedInlineProcessor, InlineGuard, triggers
from sphere.content.issues import Issue
from sphere.content.markup import EXTENSIONS, MarkdownRenderer
from sphere.errors import ContentError

CONTENT = Path(__file__).resolve().parent.parent / "content"  # holds images/card.png
# The stock methods the guard copies or relies on, as in Python-Markdown 3.11.3. If an upgrade
# changes them, read the new source, check GuardedInlineProcessor against it, then update.
STOCK_SOURCES = {
    "_InlineProcessor__handleInline": "fe27babc114aed0a",
    "_InlineProcessor__applyPattern": "8862b35197c0e614",
}


def _renderer(*, guarded: bool) -> MarkdownRenderer:
    renderer = MarkdownRenderer(CONTENT)
    md = renderer._md  # noqa: SLF001 (the converter the build uses, with one pass swapped)
    assert isinstance(md.treeprocessors["inline"], GuardedInlineProcessor)
    if not guarded:
        md.treeprocessors.register(InlineProcessor(md), "inline", 20)
    return renderer


def _issue(body: str) -> Issue:
    return Issue(
        path=Path("content/issues/2026-01-01-x.md"), slug="x", title="X",
        date=dt.date(2026, 1, 1), summary="", subject="X", status="ready", image=None,
        body=body, body_line=5,
    )  # fmt: skip


def _render(renderer: MarkdownRenderer, body: str) -> tuple[str, ...]:
    try:
        result = renderer.render(_issue(body))
    except ContentError as error:
        return ("error", str(error))
    return (result.html, repr(result.images), repr(result.links))


def _differences(count: int) -> Iterator[str]:
    """The documents the two passes render differently, lazily."""
    fast, slow = _renderer(guarded=True), _renderer(guarded=False)
    return (doc for doc in documents(count) if _render(fast, doc) != _render(slow, doc))


def test_same_html_as_the_stock_inline_pass() -> None:
    assert list(_differences(2000)) == []


def test_a_wrong_trigger_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The corpus is tricky enough to notice any one trigger missing."""
    for source, wanted in list(inline.TRIGGERS.items()):
        for missing in wanted:
            fewer = tuple(needle for needle in wanted if needle != missing) or ("\x00",)
            monkeypatch.setitem(inline.TRIGGERS, source, fewer)
            assert next(_differences(2000), None), (
                f"nothing noticed {missing!r} missing for {source!r}"
            )
        monkeypatch.setitem(inline.TRIGGERS, source, wanted)


def test_every_pattern_is_guarded() -> None:
    """An upgrade that changes an expression leaves it unguarded: correct, but slow."""
    md = _renderer(guarded=True)._md  # noqa: SLF001
    assert [triggers(pattern) is not None for pattern in md.inlinePatterns] == [
        True for _ in md.inlinePatterns
    ]


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
