"""The email and the archive in headless Chromium: readable at 320 px, never wider than the
screen, and screenshots for the pull-request preview."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fixtures_browser import OpenPage, png_size, scroll_width
from fixtures_project import Result, png_bytes, write_issue
from pngs import pixels

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
    # The page's background (a corner): the theme's paper in light mode, near black in dark.
    light = pixels((shots / f"{slug}-email-600-light.png").read_bytes())
    dark = pixels((shots / f"{slug}-email-600-dark.png").read_bytes())
    assert sum(light[5][2]) > 600, light[5][2]
    assert sum(dark[5][2]) < 100, dark[5][2]
    assert "dist/screenshots/ (5 PNG files)" in result.out
    assert result.err == ""


GREY = (128, 128, 128)  # png_bytes' one colour


def _longest_run(rows: list[list[tuple[int, int, int]]], colour: tuple[int, int, int]) -> int:
    best = 0
    for row in rows:
        run = 0
        for pixel in row:
            run = run + 1 if pixel == colour else 0
            best = max(best, run)
    return best


def test_screenshots_show_the_projects_own_images(
    project: Path, sphere: Callable[..., Result]
) -> None:
    (project / "content/images").mkdir(exist_ok=True)
    (project / "content/images/chart.png").write_bytes(png_bytes(400, 100))
    write_issue(project, "2026-10-01-chart", body="Text.\n\n![A chart](images/chart.png)\n")
    result = sphere("build", "--screenshots")
    assert result.status == 0, result.err
    assert result.err == ""  # nothing blocked
    email = pixels((project / "dist/screenshots/chart-email-600-light.png").read_bytes())
    archive = pixels((project / "dist/screenshots/chart-archive-1024.png").read_bytes())
    assert _longest_run(email, GREY) >= 400
    assert _longest_run(archive, GREY) >= 400


def test_the_email_opened_from_disk_shows_its_images(
    project: Path, sphere: Callable[..., Result], browser
) -> None:
    """`dist/email/<slug>.html` opened as a file (as a reviewer does) finds the archive's copy."""
    (project / "content/images").mkdir(exist_ok=True)
    (project / "content/images/chart.png").write_bytes(png_bytes(400, 100))
    write_issue(project, "2026-10-01-chart", body="Text.\n\n![A chart](images/chart.png)\n")
    assert sphere("build").status == 0
    context = browser.new_context()  # a plain browser: no Sphere routing, file: as a user opens it
    try:
        page = context.new_page()
        page.goto((project / "dist/email/chart.html").as_uri())
        assert page.evaluate("document.querySelector('img[alt=\"A chart\"]').naturalWidth") == 400
    finally:
        context.close()


def test_screenshots_without_chromium_build_the_rest(
    project: Path, sphere: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPHERE_CHROMIUM", str(project / "no-chromium"))
    result = sphere("build", "--screenshots")
    assert result.status == 1
    assert result.err == (
        f"error: screenshots not taken: Chromium not found at {project / 'no-chromium'}:"
        " install it (apt-get install chromium) or set SPHERE_CHROMIUM to its path;"
        " the rest is built in dist/\n"
    )
    assert (project / "dist/email/hard-sell-or-soft-sell.eml").is_file()
    assert (project / "dist/site/index.html").is_file()
    assert not (project / "dist/screenshots").exists()


def test_an_issue_cannot_put_a_local_file_in_a_screenshot(
    project: Path, sphere: Callable[..., Result], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A `file:` frame in an issue shows exactly what a frame of a missing file shows."""
    secret = tmp_path_factory.mktemp("elsewhere") / "secret.txt"
    secret.write_text("TOP SECRET " * 200, encoding="utf-8")
    frame = '<iframe src="{}" width="500" height="300"></iframe>\n'

    def shoot(src: str) -> list[list[tuple[int, int, int]]]:
        write_issue(project, "2026-10-01-frame", body="Text.\n\n" + frame.format(src))
        result = sphere("build", "--screenshots")
        assert result.status == 0, result.err
        return pixels((project / "dist/screenshots/frame-email-600-light.png").read_bytes())

    assert shoot(secret.as_uri()) == shoot((secret.parent / "missing.txt").as_uri())
