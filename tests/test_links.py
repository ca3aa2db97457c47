"""absolute_links: relative links and images resolved against the issue's archive page, found
without the regex's leading word boundary (checked by hand) and with the same result."""

from __future__ import annotations

import random
import re
from urllib.parse import urljoin, urlsplit

import pytest

from sphere.content.markup import URL_ATTRIBUTE, absolute_links

PAGE = "https://www.jimwigg.com/sphere/issues/this-one/"


def _reference(html: str, page_url: str) -> str:
    """The plain regex version, as it was: what the fast one must equal."""

    def resolve(match: re.Match[str]) -> str:
        url = match.group(2)
        if not url or url.startswith(("#", "//")) or urlsplit(url).scheme:
            return match.group(0)
        return f'{match.group(1)}="{urljoin(page_url, url)}"'

    return re.sub(URL_ATTRIBUTE, resolve, html)


TRICKY = [
    '<a href="../other/">other</a>',
    'href="start.html" at the very start',
    '<img src="images/a.png" alt=""><a href="#top">top</a><a href="//cdn/x">x</a>',
    '<a data-href="rel/">a hyphen is a word boundary</a>',
    '<a xhref="no/">a letter before is not</a><a _src="no">nor an underscore</a>',
    '<a éhref="no/">nor a letter of another alphabet</a> <a ٣src="no">nor a digit</a>',
    '<p xhref="a src=" b">a match that starts inside a rejected one</p>',
    '<p xhref="a href=" c"> src="d" href="" src="mailto:x@y.z" href="https://a.b/"',
    '<a href="x" href="y"src="z">',
    "no attributes at all",
    "",
]


@pytest.mark.parametrize("html", TRICKY)
def test_the_same_as_the_plain_regex(html: str) -> None:
    assert absolute_links(html, PAGE) == _reference(html, PAGE)


def test_the_same_as_the_plain_regex_on_random_html() -> None:
    rng = random.Random(9)
    pieces = ['href="', 'src="', '"', "a", "x", "_", "-", " ", "../", "#", "é", "<a ", ">", "="]
    for _ in range(3000):
        html = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))
        assert absolute_links(html, PAGE) == _reference(html, PAGE), html


def test_relative_links_are_resolved_and_others_kept() -> None:
    html = '<a href="../other/">o</a><img src="images/a.png"><a href="https://x.org/">x</a>'
    assert absolute_links(html, PAGE) == (
        '<a href="https://www.jimwigg.com/sphere/issues/other/">o</a>'
        '<img src="https://www.jimwigg.com/sphere/issues/this-one/images/a.png">'
        '<a href="https://x.org/">x</a>'
    )
