"""The web archive: pages, feed, sitemap, and links that all resolve, at any base path."""

from __future__ import annotations

import datetime as dt
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
    (stylesheet,) = (site / "static").glob("style.*.css")
    css = stylesheet.read_text(encoding="utf-8")
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
    assert re.search(r'href="/newsletters/sphere/static/style\.[0-9a-f]{10}\.css"', not_found)
    for page in site.rglob("*.html"):
        for url in _parse(page).urls:
            target = _resolve(site, page, url, "/newsletters/sphere/")
            assert target is None or target.is_file(), url
    feed = (site / "feed.xml").read_text(encoding="utf-8")
    assert "https://example.org/newsletters/sphere/issues/hard-sell-or-soft-sell/" in feed


def _feed_and_sitemap_urls(site: Path) -> set[str]:
    feed = ET.parse(site / "feed.xml").getroot()  # noqa: S314 (our own output)
    sitemap = ET.parse(site / "sitemap.xml").getroot()  # noqa: S314 (our own output)
    return {entry.findtext(f"{ATOM}id") or "" for entry in feed.findall(f"{ATOM}entry")} | {
        loc.text or "" for loc in sitemap.iter(f"{SITEMAP}loc")
    }


@pytest.fixture
def upcoming(project: Path) -> Path:
    """The seed (due on SPHERE_TODAY, 2026-12-01), a ready issue dated later, and a draft."""
    write_issue(project, "2027-02-01-next-time", title="Next time", date="2027-02-01")
    write_issue(project, "2026-11-15-unfinished", title="Unfinished", status="draft")
    return project


def test_the_archive_holds_only_issues_whose_date_has_come(
    upcoming: Path, sphere: Callable[..., Result]
) -> None:
    assert sphere("build").status == 0
    site = upcoming / "dist/site"
    assert sorted(p.parent.name for p in site.glob("issues/*/index.html")) == [
        "hard-sell-or-soft-sell"
    ]
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "Next time" not in index and "Unfinished" not in index
    base = "https://www.jimwigg.com/sphere/"
    assert _feed_and_sitemap_urls(site) == {base, base + "issues/hard-sell-or-soft-sell/"}
    # The email of an issue not yet due is built for review; a draft's only with --drafts.
    assert (upcoming / "dist/email/next-time.html").is_file()
    assert not (upcoming / "dist/email/unfinished.html").exists()


def test_an_issue_enters_the_archive_on_its_date(
    upcoming: Path, sphere: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPHERE_TODAY", "2027-01-31")
    assert sphere("build").status == 0
    assert not (upcoming / "dist/site/issues/next-time").exists()
    monkeypatch.setenv("SPHERE_TODAY", "2027-02-01")
    assert sphere("build").status == 0
    site = upcoming / "dist/site"
    assert (site / "issues/next-time/index.html").is_file()
    assert "https://www.jimwigg.com/sphere/issues/next-time/" in _feed_and_sitemap_urls(site)
    assert ET.parse(site / "feed.xml").getroot().findtext(f"{ATOM}updated") == (  # noqa: S314
        "2027-02-01T00:00:00Z"
    )


def test_the_date_has_come_in_the_newsletter_s_time_zone(upcoming: Path) -> None:
    from sphere.build.pipeline import build_all
    from sphere.settings import load_settings

    evening = dt.datetime(2027, 1, 31, 23, 30, tzinfo=dt.UTC)  # already 1 February in Auckland
    for zone, due in (("Europe/London", False), ("Pacific/Auckland", True)):
        settings = load_settings(upcoming, env={"SPHERE_TIMEZONE": zone})
        build_all(settings, today=settings.today(evening), cache=False)
        assert (upcoming / "dist/site/issues/next-time/index.html").is_file() is due, zone


def test_a_preview_marks_drafts_and_scheduled_issues_and_never_announces_them(
    upcoming: Path, sphere: Callable[..., Result]
) -> None:
    assert sphere("build", "--drafts").status == 0
    site = upcoming / "dist/site"
    index = (site / "index.html").read_text(encoding="utf-8")
    for title, mark in (("Next time", "Scheduled"), ("Unfinished", "Draft")):
        item = index[index.index(f">{title}</a>") :].split("</li>", 1)[0]
        assert f'<strong class="state">{mark}</strong>' in item
    seed_item = index[index.index(">To Hard Sell") :].split("</li>", 1)[0]
    assert 'class="state"' not in seed_item
    scheduled = (site / "issues/next-time/index.html").read_text(encoding="utf-8")
    assert "<strong>Scheduled for 1 February 2027.</strong>" in scheduled
    assert '<meta name="robots" content="noindex">' in scheduled
    draft = (site / "issues/unfinished/index.html").read_text(encoding="utf-8")
    assert "<strong>Draft.</strong> This issue is not published" in draft
    assert '<meta name="robots" content="noindex">' in draft
    published = (site / "issues/hard-sell-or-soft-sell/index.html").read_text(encoding="utf-8")
    assert 'class="state"' not in published and "noindex" not in published
    base = "https://www.jimwigg.com/sphere/"
    assert _feed_and_sitemap_urls(site) == {base, base + "issues/hard-sell-or-soft-sell/"}


def _meta(page: Path) -> dict[str, str]:
    return {
        attrs.get("property") or attrs.get("name") or "": attrs.get("content") or ""
        for tag, attrs in _parse(page).tags
        if tag == "meta"
    }


def test_every_page_has_a_link_preview_image_and_a_favicon(site: Path) -> None:
    default = "https://www.jimwigg.com/sphere/images/card.png"
    for page in sorted(site.rglob("*.html")):
        meta = _meta(page)
        cover = page.parent.name == "coaching"  # the one issue with its own `image`
        expected = "https://www.jimwigg.com/sphere/images/chart.png" if cover else default
        assert meta["og:image"] == expected, page
        assert meta["twitter:card"] == "summary_large_image", page
        icons = [a["href"] for t, a in _parse(page).tags if t == "link" and a.get("rel") == "icon"]
        assert [icon.rsplit("/", 1)[1] for icon in icons] == ["favicon.svg", "favicon-32.png"]
    assert (site / "images/card.png").is_file()
    assert (site / "static/favicon.svg").read_text(encoding="utf-8").startswith("<svg")


def test_without_a_default_image_pages_say_summary(
    project: Path, sphere: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPHERE_DEFAULT_IMAGE", "")
    assert sphere("build").status == 0
    meta = _meta(project / "dist/site/index.html")
    assert meta["twitter:card"] == "summary" and "og:image" not in meta


def test_a_missing_default_image_is_a_settings_error(
    project: Path, sphere: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPHERE_DEFAULT_IMAGE", "images/nope.png")
    result = sphere("build")
    assert result.status == 1
    assert result.err.startswith(
        "pyproject.toml: error: [tool.sphere].default_image: image 'images/nope.png' not found"
    )


def test_the_404_page_claims_no_canonical_url_and_is_not_indexed(site: Path) -> None:
    parsed = _parse(site / "404.html")
    assert not [a for t, a in parsed.tags if t == "link" and a.get("rel") == "canonical"]
    assert "og:url" not in _meta(site / "404.html")
    assert _meta(site / "404.html")["robots"] == "noindex"


def test_no_empty_more_issues_block_with_one_issue(
    project: Path, sphere: Callable[..., Result], site: Path
) -> None:
    page = site / "issues/pipeline/index.html"
    assert 'aria-label="More issues"' in page.read_text(encoding="utf-8")
    for name in ("2026-10-01-pipeline.md", "2026-08-01-coaching.md"):
        (project / "content/issues" / name).unlink()  # only the seed is left
    assert sphere("build").status == 0
    alone = (site / "issues/hard-sell-or-soft-sell/index.html").read_text(encoding="utf-8")
    assert "More issues" not in alone


def test_archive_pages_cannot_run_an_author_s_script(site: Path) -> None:
    """No page runs a script, but the index its own search script (a file of the archive's,
    never inline, never from elsewhere); issue pages carry JSON-LD, which is data."""
    for page in site.rglob("*.html"):
        parsed = _parse(page)
        policies = [
            attrs.get("content") or ""
            for tag, attrs in parsed.tags
            if tag == "meta" and attrs.get("http-equiv") == "Content-Security-Policy"
        ]
        assert policies, page
        scripts = [  # what would run: a JSON-LD block is data, not a script
            attrs.get("src")
            for tag, attrs in parsed.tags
            if tag == "script" and attrs.get("type") != "application/ld+json"
        ]
        if page == site / "index.html":
            assert "script-src 'self' 'wasm-unsafe-eval';" in policies[0]
            assert "unsafe-inline" not in policies[0].replace("style-src-attr 'unsafe-inline'", "")
            assert scripts == ["static/search.js"]
        else:
            assert "script-src 'none'" in policies[0] and not scripts, page


def test_a_changed_theme_gets_a_new_stylesheet_name_that_every_page_links_to(
    project: Path, sphere: Callable[..., Result]
) -> None:
    """The stylesheet is kept a year by browsers and CDNs (its name is its content's hash), so
    a theme change must reach readers under a new name, not wait out a cache."""
    assert sphere("build").status == 0
    static = project / "dist/site/static"
    (before,) = static.glob("style.*.css")
    theme = project / "templates/email/theme.toml"
    theme.write_text(theme.read_text(encoding="utf-8").replace('"#9b2c2c"', '"#0b5394"'))
    assert sphere("build").status == 0
    (after,) = static.glob("style.*.css")
    assert after.name != before.name and "#0b5394" in after.read_text(encoding="utf-8")
    for page in (project / "dist/site").rglob("*.html"):
        assert f"static/{after.name}" in page.read_text(encoding="utf-8"), page
