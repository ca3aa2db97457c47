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


def _word_loop_wrap(text: str, width: int, *, indent: str = "", hanging: str | None = None) -> str:
    """wrap() as it was before it took lines by regular expression: the reference."""
    subsequent = indent if hanging is None else hanging
    lines: list[str] = []
    prefix, current = indent, ""
    for word in text.split():
        if current and len(prefix) + len(current) + 1 + len(word) > width:
            lines.append(prefix + current)
            prefix, current = subsequent, word
        else:
            current = f"{current} {word}" if current else word
    if current:
        lines.append(prefix + current)
    return "\n".join(lines)


def test_wrap_matches_the_word_loop_for_any_width_and_whitespace() -> None:
    rng = random.Random(8)
    words = ["a", "bb", "ccc", "x" * 30, "https://example.org/" + "x" * 90, "é", "—"]
    spaces = [" ", "  ", "\n", "\t", "\xa0", "\x0c", "\u2003", "\x1c", "\x85", ""]
    for _ in range(20000):
        text = "".join(rng.choice(words) + rng.choice(spaces) for _ in range(rng.randint(0, 30)))
        width = rng.randint(-2, 90)
        indent = rng.choice(["", "> ", "    ", "x" * 12])
        hanging = rng.choice([None, "", "  ", "x" * 12])
        expected = _word_loop_wrap(text, width, indent=indent, hanging=hanging)
        assert wrap(text, width, indent=indent, hanging=hanging) == expected


def test_an_empty_block_leaves_no_blank_lines() -> None:
    """A paragraph that is only a picture without alt text (which `sphere check` calls an
    error) has no text: it left blank quote lines, and cost a list item its number."""
    quote = html_to_text("<blockquote><p><img src=x></p><p>text</p></blockquote>").text
    assert quote == "> text"
    listing = html_to_text("<ol><li><p><img src='x'></p><p>t</p></li></ol>").text
    assert listing == "1. t"


def test_an_empty_heading_is_left_out() -> None:
    """`##` alone, or a heading that is only a picture, has nothing to underline."""
    html = '<p>Before.</p><h2></h2><p>Between.</p><h2><img alt="" src="a.png"></h2><p>After.</p>'
    assert html_to_text(html).text == "Before.\n\nBetween.\n\nAfter."
