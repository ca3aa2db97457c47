"""The email and the archive in headless Chromium: readable at 320 px, never wider than the
screen, and screenshots for the pull-request preview."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fixtures_browser import OpenPage, png_size, scroll_width
from fixtures_project import Result, png_bytes, write_issue

# Content that tends to break narrow layouts: a long unbroken URL, a wide image, a table.
AWKWARD = """## A wide picture

![Forecast accuracy by quarter](images/wide.png)

See https://www.jimwigg.com/a/very/long/unbroken/address/that/keeps/going/and/going/forever.html

| Stage | Deals | Value | Win rate | Cycle |
|-------|-------|-------|----------|-------|
| Qualified | 120 | £1,200,000 | 18% | 64 days |
"""


@pytest.fixture
def dist(project: Path, sphere: Callable[..., Result]) -> Path:
    (project / "content/images").mkdir(exist_ok=True)
    (project / "content/images/wide.png").write_bytes(png_bytes(1600, 400))
    write_issue(project, "2026-10-01-awkward", title="An awkward issue", body=AWKWARD)
    result = sphere("build")
    assert result.status == 0, result.err
    return project / "dist"


PAGES = [
    "email/hard-sell-or-soft-sell.html",
    "email/awkward.html",
    "site/issues/hard-sell-or-soft-sell/index.html",
    "site/issues/awkward/index.html",
    "site/index.html",
]


@pytest.mark.parametrize("width", [320, 600])
@pytest.mark.parametrize("name", PAGES)
def test_no_page_scrolls_sideways(
    dist: Path, page_factory: OpenPage, name: str, width: int
) -> None:
    page = page_factory(dist / name, width)
    assert scroll_width(page) <= width


def test_the_email_text_stays_readable_on_a_phone(dist: Path, page_factory: OpenPage) -> None:
    page = page_factory(dist / "email/hard-sell-or-soft-sell.html", 320)
    size = page.evaluate("parseFloat(getComputedStyle(document.querySelector('p')).fontSize)")
    assert size >= 14
    assert page.get_by_text("If you were a prospect, which would you prefer").is_visible()


def test_dark_mode_keeps_text_visible(dist: Path, page_factory: OpenPage) -> None:
    """In dark mode the body text is light on a dark background: nothing vanishes."""
    page = page_factory(dist / "email/hard-sell-or-soft-sell.html", 600, color_scheme="dark")
    colours = page.evaluate(
        """() => {
            const p = document.querySelector('.sp-paper p');
            let el = p, bg = 'rgba(0, 0, 0, 0)';
            while (el && (bg === 'rgba(0, 0, 0, 0)' || bg === 'transparent')) {
                bg = getComputedStyle(el).backgroundColor; el = el.parentElement;
            }
            return [getComputedStyle(p).color, bg];
        }"""
    )
    text, background = ([int(c) for c in s[s.index("(") + 1 : -1].split(",")[:3]] for s in colours)
    assert sum(text) > 500, colours  # light text
    assert sum(background) < 150, colours  # on a dark background


def test_build_screenshots_for_review(
    browser: object, project: Path, sphere: Callable[..., Result]
) -> None:
    # (`browser`: the build shares the session's Chromium, and skips with it when it is missing)
    result = sphere("build", "--screenshots")
    assert result.status == 0, result.err
    shots = project / "dist/screenshots"
    names = sorted(p.name for p in shots.iterdir())
    slug = "hard-sell-or-soft-sell"
    assert names == sorted(
        [f"{slug}-email-{w}-{s}.png" for w in (375, 600) for s in ("light", "dark")]
        + [f"{slug}-archive-1024.png"]
    )
    for name in names:
        width, height = png_size((shots / name).read_bytes())
        assert width == int(name.rsplit("-", 2)[-2] if "email" in name else 1024)
        assert height > 600
    light = (shots / f"{slug}-email-600-light.png").read_bytes()
    dark = (shots / f"{slug}-email-600-dark.png").read_bytes()
    assert light != dark
    assert "dist/screenshots/ (5 PNG files)" in result.out
