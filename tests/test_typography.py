"""Smart punctuation (Python-Markdown's `smarty`): curly quotes and dashes in prose, written as
the characters themselves, and never in code, URLs or attribute values."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser
from pathlib import Path

import pytest

from sphere.content.issues import Issue
from sphere.content.markup import MarkdownRenderer


class _Parts(HTMLParser):
    """The text of each element, and each attribute's value, as a browser would read them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.text: dict[str, str] = {}
        self.attributes: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.open.append(tag)
        self.attributes.update({name: value or "" for name, value in attrs})

    def handle_endtag(self, tag: str) -> None:
        self.open.pop()

    def handle_data(self, data: str) -> None:
        tag = self.open[-1] if self.open else ""
        self.text[tag] = self.text.get(tag, "") + data


def _html(text: str) -> str:
    issue = Issue(
        path=Path("content/issues/2026-01-01-x.md"), slug="x", title="X",
        date=dt.date(2026, 1, 1), summary="", subject="X", status="ready", image=None,
        body=text, body_line=5,
    )  # fmt: skip
    return MarkdownRenderer(Path("content")).render(issue).html


def _parts(text: str) -> _Parts:
    parts = _Parts()
    parts.feed(_html(text))
    return parts


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("it's the '80s", "<p>it’s the ’80s</p>"),
        ('"Hi," she said.', "<p>“Hi,” she said.</p>"),
        ("a -- b --- c...", "<p>a – b — c…</p>"),
        (
            "\"*Emphasis*\" and '**bold**'.",
            "<p>“<em>Emphasis</em>” and ‘<strong>bold</strong>’.</p>",
        ),
    ],
)
def test_prose_gets_curly_quotes_and_dashes_as_characters(text: str, expected: str) -> None:
    # Characters, not `&ldquo;`: the plain-text part and the feed read them as they are.
    assert _html(text) == expected


def test_code_and_urls_stay_straight() -> None:
    # No quotes inside the URL's parentheses: Markdown would read "..." there as a title.
    parts = _parts('See `a "b" -- c` at [it\'s...](https://e.org/a--b/it\'s...) "now".')
    assert parts.text["code"] == 'a "b" -- c'
    assert parts.attributes["href"] == "https://e.org/a--b/it's..."
    assert parts.text["a"] == "it’s…"
    assert parts.text["p"] == "See  at  “now”."


def test_code_blocks_and_attribute_values_stay_straight() -> None:
    parts = _parts('Before:\n\n    code "block" -- here\n\n<span title="\'t\'">"prose"</span>')
    assert parts.text["code"] == 'code "block" -- here\n'
    assert parts.attributes["title"] == "'t'"
    assert parts.text["span"] == "“prose”"  # an author's <span> holds prose
