"""The plain-text part's converter: wrapping, lists, quotes and link references."""

from __future__ import annotations

import random
import textwrap

from sphere.render.plaintext import html_to_text, wrap


def test_wrap_matches_textwrap_without_breaking_words() -> None:
    rng = random.Random(7)
    words = ["a", "bb", "ccc", "eeeee", "https://example.org/" + "x" * 90]
    for _ in range(2000):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(0, 40)))
        width = rng.randint(10, 80)
        expected = textwrap.fill(
            text, width=width, initial_indent="> ", subsequent_indent="  ",
            break_long_words=False, break_on_hyphens=False,
        )  # fmt: skip
        assert wrap(text, width, indent="> ", hanging="  ") == expected


def test_structure_survives_as_text() -> None:
    html = (
        "<h2>Next steps</h2><p>One <em>two</em> <strong>three</strong>.<br>New line.</p>"
        '<ol start="3"><li>Third</li><li>Fourth</li></ol>'
        "<blockquote><p>A quoted line that is long enough to wrap over the seventy-eight "
        "column limit of the text part.</p></blockquote>"
        '<p>Read <a href="https://example.org/a">this</a> or https://example.org/b.</p>'
        "<table><tr><th>Stage</th><th>Deals</th></tr><tr><td>Won</td><td>4</td></tr></table>"
    )
    text = html_to_text(html)
    assert text.text == (
        "Next steps\n==========\n\n"
        "One _two_ *three*.\nNew line.\n\n"
        "3. Third\n4. Fourth\n\n"
        "> A quoted line that is long enough to wrap over the seventy-eight column\n"
        "> limit of the text part.\n\n"
        "Read this [1] or https://example.org/b.\n\n"
        "Stage | Deals\nWon | 4"
    )
    assert text.references == ["https://example.org/a"]
