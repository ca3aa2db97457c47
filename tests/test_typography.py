"""Smart punctuation: what Python-Markdown's `smarty` gives, without its cost."""

from __future__ import annotations

import html

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


def test_code_and_urls_stay_straight() -> None:
    out = _convert(SmartPunctuation(), 'See `a "b"` at [x](https://e.org/a--b?c="d").')
    assert '<code>a "b"</code>' in out and 'href="https://e.org/a--b?c=&quot;d&quot;"' not in out
    assert "https://e.org/a--b" in out


@pytest.mark.parametrize(
    ("text", "expected"),
    [("it's", "it’s"), ('"Hi"', "“Hi”"), ("a -- b --- c...", "a – b — c…")],
)
def test_smarten(text: str, expected: str) -> None:
    assert smarten(text) == expected
