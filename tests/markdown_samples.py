"""Tricky Markdown for equivalence tests: every inline pattern's trigger, near misses included.

A fast path must render these exactly as the stock code does. TRICKY holds hand-written
documents; `fuzz` strings random tokens together so that triggers turn up next to each other
in orders no one would think to write. Images point at `images/card.png`, which the project
and the repository's content/ both hold.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from pathlib import Path

from sphere.content.issues import Issue
from sphere.content.markup import MarkdownRenderer
from sphere.errors import ContentError

CONTENT = Path(__file__).resolve().parent.parent / "content"  # holds images/card.png

TRICKY = [
    "Plain prose with nothing special in it at all, over two\nlines of source.",
    "Hard  \nbreak, soft\nbreak, trailing spaces at the end  ",
    "Code `span` and ``double `tick` span`` and \\`escaped\\` and \\\\`not escaped`.",
    "Unclosed `backtick and ``` three ``` and a lone ` here.",
    "Escapes: \\* \\_ \\[ \\] \\< \\& \\\\ \\# \\! \\a \\- \\. \\{ \\}",
    "*em* **strong** ***both*** _em_ __strong__ ___both___ *a **b** c* **a *b* c**",
    "snake_case_word and 2*3*4 and * lone star * and __init__ and a*b",
    "**unclosed strong and *unclosed em and _under",
    "Links: [text](https://e.org/a_b*c) [ref][r1] [r1] [R1][] [missing][nope] [x]( <y> )",
    '[title](https://e.org "A \\"title\\"") and [empty]() and [nested [brackets]](/n)',
    'Images: ![alt](images/card.png) ![ref img][i1] ![i1] ![](images/card.png "t")',
    "Not an image: !\\[x\\] and ! [y](z) and a bang!",
    "Autolinks <https://e.org/x?a=1&b=2> <ftp://f.org> <me@example.org> <not a link>",
    'Raw <b>bold</b> <span class="x">span</span> <!-- comment --> <?pi?> a < b > c',
    "Entities &amp; &copy; &#169; &#xA9; &nope AT&T & alone &;",
    "Footnote[^1] and another[^two] and a missing[^3] and [^not a note].",
    "Abbreviations: HTML and CSS, and htmlx, HTML.",
    "\"Quotes\" and 'singles' -- dashes --- and... the '80s, it's \"*emphasis*\".",
    "Mixed: *[em link](/x)* and [**strong link**](/y) and `code [not link](/z)`.",
    "Underscores in URLs: https://e.org/a_b_c and <https://e.org/a_b_c>.",
    "Attr list {: .cls } after text and *em*{: .inline } and [a](/b){: target=_blank }",
    "A paragraph with attrs\n{: #para-id .lead }",
    "# Heading with `code` and *em* { #h-id }\n\n## Second ## \n\nText.",
    "- item *one*\n- item `two`\n    - nested [link](/n)\n\n1. first\n2. second &amp;\n\n3) third",
    "> quote with **strong**\n> and a [link][r1]\n>\n> > nested quote `x`",
    "Term\n:   Definition with *em*\n\nTerm 2\n:   Another & more",
    "| Head *em* | Head `c` |\n|---|:--:|\n| a [l](/x) | b \\| pipe |\n| <b>c</b> | &amp; |",
    "    indented code *not em* [not link](/x) &amp;\n\nafter",
    '<div markdown="1">\n*inside div*\n</div>\n\n<div>raw *block*</div>',
    "Line with trailing backslash\\\nnext line",
    "Star at end *\n\nUnderscore at end _\n\nBracket at end [",
    "a**b**c a__b__c **a** b** **c",
    "<https://e.org/x>_after_ and *<b>mixed</b>* and _<i>x</i>_",
    "[link with `code` and *em* inside](https://e.org/?q=1&r=2)",
    'Reference with title [t][r2] and image ![t][i1]{: width="100" }',
    "Tabs\tand\tmore tabs *x*\tend",
    "Setext title\n============\n\nSetext sub\n---\n\nNot setext\n= x\n\nA\n-",
    "Rules:\n\n---\n\n* * *\n\n___\n\n - - -\n\ntext\n***\nmore -- not --- a rule",
    "Mid-block: a line\n# heading after it\nand a line\n> quote after it\n: not a def",
    "Text then a definition\n[r3]: https://e.org/r3\n[^3]: A note in the middle\n*[CSS]: Sheets",
    "[r4]: https://e.org/r4 'single title'\n[r5]:\n    https://e.org/r5\n\n[r4] [r5]",
    "Term *a*\n: def one\n: def two\n\n    indented more\n\n:   lazy",
    "> # quoted heading\n> - quoted list\n>\n> ---\n\n- list\n\n    > quote in list",
    "Unicode “curly” ‘single’ – en — em … and * ★ stars ★ *",
    "[^1]: The note *itself* with a [link](/n) and `code`.\n\n"
    "[^two]: Second note -- with 'quotes'.\n\n"
    '[r1]: https://e.org/ref\n[r2]: https://e.org/ref2 "Ref title"\n'
    "[i1]: images/card.png\n\n*[HTML]: Hyper Text Markup Language\n*[CSS]: Cascading",
]

_TOKENS = [
    "word", "other", "HTML", " ", " ", " ", "  \n", "\n", "*", "**", "***", "_", "__", "`", "``",
    "\\", "\\*", "\\`", "\\\\", "[", "]", "(", ")", "![", "[^1]", "[^two]", "[r1]", "[x](/y)",
    "![i](images/card.png)", "<", ">", "&", "&amp;", "&#123;", "&copy;", "<b>", "</b>",
    "<i>", "</i>", "<https://e.org/a_b>", "<me@e.org>", "<!-- c -->", '"', "'", "--", "---",
    "...", "{: .c }", "{: #id }", ":", "|", "#", "-", "1.", "http://e.org/x_y", "@", "!", "{",
    "}", "~", "^", "=", "+", "$", "%", "\n=", "\n---", "\n> ", "\n# ", "]:", "*[", "\n: ",
    "\n[r1]: /x", "\n[^1]: n",
]  # fmt: skip
_BLOCKS = [
    "", "", "", "- ", "1. ", "> ", "## ", "    ", "| a | b |\n|---|---|\n| ", "Term\n: ",
    "Title\n===\n", "Sub\n---\n", "***\n", "[r2]: /r2\n", "*[CSS]: Sheets\n",
]  # fmt: skip
_DEFINITIONS = (
    '\n\n[^1]: Note *one* `c`.\n\n[^two]: Note "two".\n\n[r1]: https://e.org/r1\n\n'
    "*[HTML]: Hyper Text\n"
)


def fuzz(rng: random.Random) -> str:
    """A random document of a few blocks, each a string of random tokens."""
    blocks = []
    for _ in range(rng.randint(1, 4)):
        tokens = "".join(rng.choice(_TOKENS) for _ in range(rng.randint(1, 40)))
        blocks.append(rng.choice(_BLOCKS) + tokens)
    return "\n\n".join(blocks) + (_DEFINITIONS if rng.random() < 0.7 else "")


def documents(count: int, *, seed: int = 11) -> list[str]:
    """TRICKY, each alone and all together, then `count` fuzzed documents."""
    rng = random.Random(seed)
    return [*TRICKY, "\n\n".join(TRICKY), *(fuzz(rng) for _ in range(count))]


def issue(body: str) -> Issue:
    """An issue with `body`, for MarkdownRenderer.render."""
    return Issue(
        path=Path("content/issues/2026-01-01-x.md"), slug="x", title="X",
        date=dt.date(2026, 1, 1), summary="", subject="X", status="ready", image=None,
        body=body, body_line=5,
    )  # fmt: skip


def render(renderer: MarkdownRenderer, body: str) -> tuple[str, ...]:
    """All that rendering `body` gives: HTML, images and links, or the error."""
    try:
        result = renderer.render(issue(body))
    except ContentError as error:
        return ("error", str(error))
    return (result.html, repr(result.images), repr(result.links))


def differences(count: int) -> Iterator[str]:
    """The documents that the guarded and the stock passes render differently, lazily."""
    fast, slow = MarkdownRenderer(CONTENT), MarkdownRenderer(CONTENT, guarded=False)
    return (doc for doc in documents(count) if render(fast, doc) != render(slow, doc))
