"""The web archive: pages, feed, sitemap, and links that all resolve, at any base path."""

from __future__ import annotations

import posixpath
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from fixtures_project import Result, png_bytes, write_issue

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        for name in ("href", "src"):
            value = dict(attrs).get(name)
            if value:
                self.urls.append(value)


def _parse(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


@pytest.fixture
def site(project: Path, sphere: Callable[..., Result]) -> Path:
    (project / "content/images").mkdir(exist_ok=True)
    (project / "content/images/chart.png").write_bytes(png_bytes(300, 200))
    write_issue(
        project,
        "2026-10-01-pipeline",
        title="Pipeline reviews that work",
        body="## What to ask\n\n![Stages](images/chart.png)\n\nRead [the first issue](../hard-sell-or-soft-sell/).\n",
    )
    write_issue(
        project,
        "2026-08-01-coaching",
        title="Coaching <in> the field & more",
        image="images/chart.png",
    )
    result = sphere("build")
    assert result.status == 0, result.err
    return project / "dist/site"


def _resolve(site: Path, page: Path, url: str, base_path: str) -> Path | None:
    """The file a link from `page` lands on, or None for a link that leaves the archive."""
    parts = urlsplit(url)
    if parts.scheme or url.startswith(("#", "//")):
        return None
    if url.startswith("/"):
        assert url.startswith(base_path), f"{page}: {url} is outside the archive's path"
        target = site / unquote(parts.path.removeprefix(base_path))
    else:
        folder = page.parent.relative_to(site).as_posix()
        relative = posixpath.normpath(posixpath.join(folder, unquote(parts.path)))
        assert not relative.startswith(".."), f"{page}: {url} climbs out of the archive"
        target = site / relative
    return target / "index.html" if parts.path.endswith("/") or not parts.path else target


def test_every_internal_link_and_image_resolves(site: Path) -> None:
    pages = sorted(site.rglob("*.html"))
    assert len(pages) == 5  # index, 404, three issues
    for page in pages:
        for url in _parse(page).urls:
            target = _resolve(site, page, url, "/sphere/")
            if target is not None:
                assert target.is_file(), f"{page.relative_to(site)} links to missing {url}"


def test_the_index_lists_issues_newest_first(site: Path) -> None:
    html = (site / "index.html").read_text(encoding="utf-8")
    titles = re.findall(r'<h2><a href="issues/[^"]+/">([^<]+)</a>', html)
    assert titles == [
        "To Hard Sell or to Soft Sell? That is the Question",
        "Pipeline reviews that work",
        "Coaching &lt;in&gt; the field &amp; more",
    ]
    assert "1 December 2026" in html and "A summary." in html


def test_pages_are_accessible(site: Path) -> None:
    for page in site.rglob("*.html"):
        parsed = _parse(page)
        tags = [tag for tag, _ in parsed.tags]
        assert tags.count("h1") == 1, page
        assert {"main", "header", "footer", "nav"} <= set(tags), page
        html_attrs = next(attrs for tag, attrs in parsed.tags if tag == "html")
        assert html_attrs["lang"] == "en-GB"
        for tag, attrs in parsed.tags:
            if tag == "img":
                assert "alt" in attrs, page
    css = (site / "static/style.css").read_text(encoding="utf-8")
    assert ":focus-visible" in css and "prefers-color-scheme: dark" in css and "@media print" in css


def test_issue_pages_have_canonical_and_open_graph(site: Path) -> None:
    html = (site / "issues/coaching/index.html").read_text(encoding="utf-8")
    url = "https://www.jimwigg.com/sphere/issues/coaching/"
    assert f'<link rel="canonical" href="{url}">' in html
    assert f'<meta property="og:url" content="{url}">' in html
    assert '<meta property="og:title" content="Coaching &lt;in&gt; the field &amp; more">' in html
    assert (
        '<meta property="og:image" content="https://www.jimwigg.com/sphere/images/chart.png">'
        in html
    )
    assert '<meta property="og:type" content="article">' in html


def test_the_feed_is_atom_with_absolute_urls(site: Path) -> None:
    feed = ET.parse(site / "feed.xml").getroot()  # noqa: S314 (our own output)
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated", "author"):
        assert feed.find(f"{ATOM}{required}") is not None, required
    assert (
        feed.find(f"{ATOM}link[@rel='self']").get("href")
        == "https://www.jimwigg.com/sphere/feed.xml"
    )  # type: ignore[union-attr]
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 3
    for entry in entries:
        for required in ("id", "title", "updated", "link", "summary", "content"):
            assert entry.find(f"{ATOM}{required}") is not None, required
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT00:00:00Z", entry.findtext(f"{ATOM}updated") or "")
        assert (
            entry.find(f"{ATOM}link")
            .get("href", "")
            .startswith("https://www.jimwigg.com/sphere/issues/")
        )  # type: ignore[union-attr]
    content = entries[1].findtext(f"{ATOM}content") or ""
    assert 'src="https://www.jimwigg.com/sphere/images/chart.png"' in content
    assert feed.findtext(f"{ATOM}updated") == "2026-12-01T00:00:00Z"


def test_the_sitemap_lists_every_page(site: Path) -> None:
    root = ET.parse(site / "sitemap.xml").getroot()  # noqa: S314 (our own output)
    listed = {loc.text for loc in root.iter(f"{SITEMAP}loc")}
    pages = {
        "https://www.jimwigg.com/sphere/"
        + p.relative_to(site).as_posix().removesuffix("index.html")
        for p in site.rglob("index.html")
    }
    assert listed == pages


def test_the_archive_works_under_another_sub_path(
    project: Path, sphere: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPHERE_BASE_URL", "https://example.org/newsletters/sphere")
    assert sphere("build").status == 0
    site = project / "dist/site"
    not_found = (site / "404.html").read_text(encoding="utf-8")
    assert 'href="/newsletters/sphere/static/style.css"' in not_found
    for page in site.rglob("*.html"):
        for url in _parse(page).urls:
            target = _resolve(site, page, url, "/newsletters/sphere/")
            assert target is None or target.is_file(), url
    feed = (site / "feed.xml").read_text(encoding="utf-8")
    assert "https://example.org/newsletters/sphere/issues/hard-sell-or-soft-sell/" in feed
