"""What authors write, readers get: code, tables, raw images, footnotes, right-to-left text and
long URLs, in the email (HTML and text), the archive and the feed."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from fixtures_browser import OpenPage
from fixtures_project import Result, png_bytes, write_issue

from sphere.checks import check_project
from sphere.settings import load_settings

SLUG = "readers"
NAME = f"2026-10-01-{SLUG}"

BODY = """Intro.

```python
def forecast(deals):
    return sum(deal.value * deal.probability for deal in deals)  # weighted pipeline, a long comment that runs past any phone
```

| Region | Pipeline | Won |
|--------|---------:|----:|
| North | 652,160 | 120,400 |
| South | 1,204,512 | 98,020 |

A claim.[^1] Another.[^2]

<img src="images/raw.png" alt="A raw chart">

![A hero](images/hero.png)

![Sized](images/hero.png){width=300}

هذا نص عربي طويل بما يكفي ليظهر من اليمين إلى اليسار.

<ol start="x"><li>one</li><li>two</li></ol>

<https://www.example.org/reports/2026/quarterly/sales-execution/pipeline-health-and-forecast-accuracy-by-region-final.pdf>

[^1]: The source.
[^2]: Another source.
"""


@pytest.fixture
def built(project: Path, sphere: Callable[..., Result]) -> Path:
    images = project / "content/images"
    images.mkdir(exist_ok=True)
    (images / "raw.png").write_bytes(png_bytes(800, 400))
    (images / "hero.png").write_bytes(png_bytes(2400, 1200))
    write_issue(project, NAME, title="Readers", body=BODY)
    result = sphere("build")
    assert result.status == 0, result.err
    return project / "dist"


def read(dist: Path, name: str) -> str:
    return (dist / name).read_text(encoding="utf-8")


def test_code_keeps_its_lines_everywhere(built: Path) -> None:
    text = read(built, f"email/{SLUG}.txt")
    assert "def forecast(deals):\n    return sum(deal.value" in text
    page = read(built, f"site/issues/{SLUG}/index.html")
    assert '<pre tabindex="0"><code class="language-python">def forecast(deals):\n' in page
    email = read(built, f"email/{SLUG}.html")
    # In the email: lines as <br>, indentation as no-break spaces, wrapping anywhere (clients
    # without pre-wrap would otherwise hold the message open at the longest line).
    code = re.search(r'<div class="sp-code"[^>]*>(.*?)</div>', email, re.DOTALL)
    assert code is not None
    assert "def forecast(deals):<br />&nbsp; &nbsp; return sum(" in code.group(1)
    assert "word-break:break-all" in email


def test_tables_keep_numbers_whole_on_a_phone_and_scroll(
    built: Path, page_factory: OpenPage
) -> None:
    email = read(built, f"email/{SLUG}.html")
    assert '<th dir="auto" scope="col" style="' in email
    assert '<td dir="auto" style="' in email and "word-break:normal" in email
    for width in (320, 375):
        page = page_factory(built / f"email/{SLUG}.html", width)
        # The line boxes of each number's text: one each, "652,160" not "65 / 2, / 16 / 0".
        lines = page.evaluate(
            """() => [...document.querySelectorAll('td[dir=auto]')]
                .filter(td => /^[\\d,]+$/.test(td.innerText.trim())).map(td => {
                    const range = document.createRange(); range.selectNodeContents(td);
                    return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size;
                })"""
        )
        assert lines and all(n == 1 for n in lines), (width, lines)
        assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_scrolling_tables_and_code_are_reachable_by_keyboard_in_the_archive(
    built: Path, page_factory: OpenPage
) -> None:
    page = page_factory(built / f"site/issues/{SLUG}/index.html", 320)
    focusable = page.evaluate(
        """() => [...document.querySelectorAll('.body table, .body pre')]
            .map(el => [el.tagName, el.tabIndex, el.scrollWidth > el.clientWidth])"""
    )
    assert [tag for tag, _, _ in focusable] == ["PRE", "TABLE"]
    assert all(index == 0 for _, index, _ in focusable)
    assert any(scrolls for _, _, scrolls in focusable)  # at 320 px, something does scroll


def test_a_raw_image_is_published_sized_and_absolute_like_a_markdown_one(built: Path) -> None:
    assert (built / "site/images/raw.png").is_file()
    email = read(built, f"email/{SLUG}.eml")
    assert 'src=3D"https://www.jimwigg.com/sphere/images/raw.png"' in email.replace("=\n", "")
    page = read(built, f"site/issues/{SLUG}/index.html")
    assert '<img src="../../images/raw.png" alt="A raw chart" width="552" height="276"' in page
    feed = read(built, "site/feed.xml")
    assert "src=&#34;https://www.jimwigg.com/sphere/images/raw.png&#34;" in feed


def test_every_image_gets_a_width_and_a_height(built: Path) -> None:
    page = read(built, f"site/issues/{SLUG}/index.html")
    images = re.findall(r"<img [^>]*>", page.split('<div class="body">')[1])
    assert len(images) == 3
    assert all(' width="' in img and ' height="' in img for img in images)
    assert 'alt="Sized" src="../../images/hero.600w.png" width="300" height="150"' in page
    # Below the first, the archive's images load as they come into view.
    assert ["loading" in img for img in images] == [False, True, True]


def test_footnotes_work_in_gmail_and_in_feed_readers(built: Path) -> None:
    email = read(built, f"email/{SLUG}.html")
    assert 'href="#fn-1"' in email
    assert '<li id="fn-1" dir="auto" style="' in email
    assert '<a name="fn-1" ' in email  # Gmail drops id="fn-1"
    assert '<a name="fnref-1" ' in email
    feed = read(built, "site/feed.xml")
    url = f"https://www.jimwigg.com/sphere/issues/{SLUG}/"
    assert f"href=&#34;{url}#fn-1&#34;" in feed
    assert "href=&#34;#fn" not in feed


def test_right_to_left_text_is_aligned_by_its_own_direction(
    built: Path, page_factory: OpenPage
) -> None:
    for name in (f"email/{SLUG}.html", f"site/issues/{SLUG}/index.html"):
        page = page_factory(built / name, 600)
        direction = page.evaluate(
            """() => { const p = [...document.querySelectorAll('p')]
                .find(p => p.innerText.startsWith('هذا'));
                const style = getComputedStyle(p);
                return [p.getAttribute('dir'), style.direction, style.textAlign]; }"""
        )
        # Aligned to its start (the right), not to the left that MJML's text cell sets.
        assert direction in (["auto", "rtl", "start"], ["auto", "rtl", "right"]), name


def test_an_ordered_list_with_an_odd_start_builds_and_is_checked(project: Path) -> None:
    # `<ol start="x">` ended `sphere build` with a ValueError while `check` said nothing.
    write_issue(project, NAME, body='Text.\n\n<ol start="x"><li>one</li><li>two</li></ol>\n')
    from sphere.build.pipeline import build_all

    build_all(load_settings(project))
    text = (project / f"dist/email/{SLUG}.txt").read_text(encoding="utf-8")
    assert "1. one\n2. two" in text


def test_a_long_bare_url_is_shortened_in_display_only(built: Path) -> None:
    url = (
        "https://www.example.org/reports/2026/quarterly/sales-execution/"
        "pipeline-health-and-forecast-accuracy-by-region-final.pdf"
    )
    page = read(built, f"site/issues/{SLUG}/index.html")
    assert f'<a href="{url}">www.example.org/…/pipeline-health-and-for…</a>' in page
    assert url in read(built, f"email/{SLUG}.txt")  # the text part lists it whole


def test_the_footer_offers_the_reply_to_address_when_no_contact_is_set(built: Path) -> None:
    email = read(built, f"email/{SLUG}.html")
    assert '<a href="mailto:jim@jimwigg.com"' in email
    assert "five minute conversation. jim@jimwigg.com" in " ".join(
        read(built, f"email/{SLUG}.txt").split()
    )


def test_check_warns_about_the_placeholder_postal_address(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SPHERE_POSTAL_ADDRESS")  # the seed's, from pyproject.toml
    report = check_project(load_settings(project), jobs=1)
    found = [(f.rule, f.level, f.path.name, f.message[:40]) for f in report.findings]
    text = (project / "pyproject.toml").read_text(encoding="utf-8").splitlines()
    line = next(n for n, row in enumerate(text, 1) if row.startswith("postal_address"))
    assert found == [
        (
            "settings/postal-placeholder",
            "warning",
            "pyproject.toml",
            "postal_address is still a placeholder ('",
        )
    ]
    assert report.findings[0].line == line


def test_a_large_image_is_published_as_a_copy_sized_for_the_column(built: Path) -> None:
    from fixtures_browser import png_size

    # The 2400 px original is shown at 552 px (300 px with {width=300}): copies at twice that
    # go out instead, in the archive and in the email, and the original is not published.
    assert png_size((built / "site/images/hero.1104w.png").read_bytes()) == (1104, 552)
    assert png_size((built / "site/images/hero.600w.png").read_bytes()) == (600, 300)
    assert not (built / "site/images/hero.png").exists()
    email = read(built, f"email/{SLUG}.html")
    assert 'src="../site/images/hero.1104w.png"' in email
    assert (built / "site/images/raw.png").is_file()  # 800 px: under 2 x 552, as it is
