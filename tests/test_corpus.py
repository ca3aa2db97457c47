"""A long issue that uses all of Markdown as authors write it (tests/data/corpus): code, tables
(Markdown and pasted HTML), footnotes, definition lists, nested and numbered lists, pictures of
many sizes, Arabic, emoji and long URLs, built and checked by its structure in every output,
then opened in Chromium at phone and desktop widths, light and dark.

tools/screens.py shoots the same issue into docs/screens/ for review."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from fixtures_browser import OpenPage
from fixtures_project import SEED_DATE, Result, write_issue
from PIL import Image

from sphere.checks import check_project
from sphere.settings import load_settings

CORPUS = Path(__file__).parent / "data" / "corpus"
SLUG = "where-the-quarter-went"
IMAGES = {  # name: (width, height)
    "hero.jpg": (2400, 1200),
    "raw-wide.png": (1600, 400),
    "badge.png": (88, 31),
    "portrait.jpg": (600, 900),
}


def write_corpus(root: Path) -> None:
    """The corpus issue and its pictures (drawn here: gradients, so they compress as photos)."""
    images = root / "content/images"
    images.mkdir(exist_ok=True)
    for name, size in IMAGES.items():
        picture = Image.linear_gradient("L").resize(size).convert("RGB")
        out = io.BytesIO()
        picture.save(out, format="JPEG" if name.endswith(".jpg") else "PNG")
        (images / name).write_bytes(out.getvalue())
    body = (CORPUS / "long-issue.md").read_text(encoding="utf-8")
    write_issue(
        root, f"{SEED_DATE}-{SLUG}", title="Where the quarter went", date=SEED_DATE, body=body
    )


@pytest.fixture
def dist(project: Path, sphere: Callable[..., Result]) -> Path:
    write_corpus(project)
    result = sphere("build")
    assert result.status == 0, result.err
    return project / "dist"


def read(dist: Path, name: str) -> str:
    return (dist / name).read_text(encoding="utf-8")


def source_code_blocks() -> list[list[str]]:
    """The lines of each fenced code block of the corpus."""
    text = (CORPUS / "long-issue.md").read_text(encoding="utf-8")
    return [block.splitlines() for block in re.findall(r"```\w*\n(.*?)\n```", text, re.DOTALL)]


def test_the_corpus_is_checked_without_errors(project: Path) -> None:
    write_corpus(project)
    report = check_project(load_settings(project), jobs=1)
    assert [f for f in report.findings if f.level == "error"] == []


def test_code_keeps_every_line_in_every_output(dist: Path) -> None:
    page = read(dist, f"site/issues/{SLUG}/index.html")
    text = read(dist, f"email/{SLUG}.txt")
    email = read(dist, f"email/{SLUG}.html")
    blocks = source_code_blocks()
    assert len(blocks) == 2
    assert page.count('<pre tabindex="0">') == 3  # and the indented block
    assert email.count('class="sp-code"') == 3
    for block in blocks:
        for line in block:
            assert line in text, line
            escaped = line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            assert escaped in page, line


def test_tables_lists_and_notes_keep_their_structure(dist: Path) -> None:
    page = read(dist, f"site/issues/{SLUG}/index.html")
    body = page.split('<div class="body">')[1].split("</article>")[0]
    assert body.count("<table") == 2 and body.count('<table tabindex="0">') == 2
    headers = re.findall(r"<th\b[^>]*>", body)
    assert len(headers) == 9 and all('scope="col"' in th or 'scope="row"' in th for th in headers)
    assert "<caption" in body
    assert '<ol start="7"' in body
    assert body.count("<dt") == 2 and body.count("<dd") == 3
    assert body.count('class="footnote-ref"') == 2
    assert '<abbr title="Customer Relationship Management">CRM</abbr>' in body
    text = read(dist, f"email/{SLUG}.txt")
    assert "7. Continued from the workshop" in text and "8. Item eight." in text
    assert "North | 42 | 652,160 | 198,410 | 31.2% | 64" in text
    email = read(dist, f"email/{SLUG}.html")
    assert email.count('<div class="sp-scroll"') == 2
    assert '<a name="fn-1"' in email and '<a name="fn-big"' in email


def test_every_image_is_sized_published_and_lazy_below_the_first(dist: Path) -> None:
    for name in (f"site/issues/{SLUG}/index.html", f"email/{SLUG}.html"):
        text = read(dist, name)
        body = text.split('<div class="body">')[1] if "site/" in name else text
        images = [img for img in re.findall(r"<img [^>]*>", body) if "images/" in img]
        assert len(images) == 4, name
        for img in images:
            assert re.search(r' width="\d+"', img) and re.search(r' height="\d+"', img), img
            src = re.search(r'src="(?:\.\./)*(?:site/)?(images/[^"]+)"', img)
            assert src and (dist / "site" / src.group(1)).is_file(), img
    page = read(dist, f"site/issues/{SLUG}/index.html").split('<div class="body">')[1]
    lazy = ["loading=" in img for img in re.findall(r"<img [^>]*>", page)[:4]]
    assert lazy == [False, True, True, True]
    assert "images/hero.1104w.jpg" in page and "images/raw-wide.1104w.png" in page


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [320, 375, 600])
def test_the_corpus_reads_at_every_width(
    dist: Path, page_factory: OpenPage, width: int, scheme: str
) -> None:
    for name in (f"email/{SLUG}.html", f"site/issues/{SLUG}/index.html"):
        page = page_factory(dist / name, width, color_scheme=scheme)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, name
        state = page.evaluate(
            """() => ({
                broken: [...document.images].filter(i => i.complete && !i.naturalWidth)
                    .map(i => i.src),
                rtl: [...document.querySelectorAll('p, li')]
                    .filter(e => /[\\u0600-\\u06ff]/.test(e.innerText.slice(0, 3)))
                    .map(e => getComputedStyle(e).direction),
            })"""
        )
        assert state["broken"] == [], name
        assert state["rtl"] == ["rtl", "rtl", "rtl"], name
    # The archive's tighter policy (default-src 'none') still lets its stylesheet and the
    # authors' style attributes apply.
    page = page_factory(dist / f"site/issues/{SLUG}/index.html", width, color_scheme=scheme)
    styled = page.evaluate(
        """() => [getComputedStyle(document.querySelector('main')).maxWidth,
                  getComputedStyle(document.querySelector('.body img')).maxWidth]"""
    )
    assert styled[0] != "none" and styled[1] == "552px"


def test_the_archive_allows_no_frames_scripts_or_other_origins(dist: Path) -> None:
    page = read(dist, f"site/issues/{SLUG}/index.html")
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert policy is not None
    rules = dict(rule.strip().split(" ", 1) for rule in policy.group(1).split(";"))
    assert rules["default-src"] == "'none'" and rules["frame-src"] == "'none'"
    assert rules["img-src"] == "'self' https:" and rules["style-src"] == "'self'"
    assert rules["script-src"] == "'none'" and rules["object-src"] == "'none'"
