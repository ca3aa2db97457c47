"""Smart punctuation: what Python-Markdown's `smarty` gives, without its cost."""

from __future__ import annotations

import html
from html.parser import HTMLParser

import markdown
import pytest

from sphere.content.markup import EXTENSIONS
from sphere.content.typography import SmartPunctuation, smarten

PROSE = [
    "He said \"hello\" and 'goodbye' -- then --- left... It's the '80s.",
    '"*Emphasis*" and "[a link](https://example.org/?q="x")", then \'**bold**\'.',
    '"Quote at start" and \'single at start\', ("in brackets") and [‘already curly’].',
    'Don\'t touch `code "x" -- y` or\n\n    code "block" -- here\n\nbut "this" -- yes.',
    '- a list item with "quotes"\n- and \'singles\' -- dashes...\n\n> “Quoted” "quote" here.',
    'A footnote "mark"[^1].\n\n[^1]: The "note" itself -- with a dash.',
    "| \"Cell\" | 'cell' |\n|---|---|\n| a -- b | c... |",
    '![A "chart"](images/c.png){width="800" title="Q"} and a "para"\n{: class="lead" }',
]


def _convert(extension: str | markdown.extensions.Extension, text: str) -> str:
    md = markdown.Markdown(
        extensions=[*EXTENSIONS, extension],
        extension_configs={"smarty": {"smart_angled_quotes": False}}
        if extension == "smarty"
        else {},
    )
    return html.unescape(md.convert(text))


@pytest.mark.parametrize("text", PROSE)
def test_same_result_as_python_markdowns_smarty(text: str) -> None:
    assert _convert(SmartPunctuation(), text) == _convert("smarty", text)


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


def _parts(text: str) -> _Parts:
    parts = _Parts()
    parts.feed(markdown.markdown(text, extensions=[*EXTENSIONS, SmartPunctuation()]))
    return parts


def test_code_and_urls_stay_straight() -> None:
    # No quotes inside the URL's parentheses: Markdown would read "..." there as a title.
    parts = _parts('See `a "b" -- c` at [it\'s...](https://e.org/a--b/it\'s...) "now".')
    assert parts.text["code"] == 'a "b" -- c'
    assert parts.attributes["href"] == "https://e.org/a--b/it's..."
    assert parts.text["a"] == "it’s…"
    assert parts.text["p"] == "See  at  “now”."


def test_raw_html_is_left_alone() -> None:
    text = (
        'Say <code>"x" -- y</code>, <kbd>\'k\'</kbd> and <span title="\'t\'">"prose"</span>'
        " <script>alert('x' -- 1)</script> \"after\"."
    )
    parts = _parts(text)
    assert parts.text["code"] == '"x" -- y'
    assert parts.text["kbd"] == "'k'"
    assert parts.text["script"] == "alert('x' -- 1)"
    assert parts.attributes["title"] == "'t'"
    assert parts.text["span"] == "“prose”"  # an author's <span> holds prose
    assert parts.text["p"].endswith("“after”.")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("it's", "it’s"), ('"Hi"', "“Hi”"), ("a -- b --- c...", "a – b — c…")],
)
def test_smarten(text: str, expected: str) -> None:
    assert smarten(text) == expected
