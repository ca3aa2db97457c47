"""What a link to the archive carries when it is shared or bookmarked: schema.org JSON-LD on
each issue page, `og:image:alt`, and PNG icons beside the SVG one, read from the built pages
the way a crawler or a browser reads them (the stdlib's HTML parser ends a <script> element at
the first `</script`, as browsers do)."""

from __future__ import annotations

import json
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

from fixtures_project import Result, png_bytes, write_issue
from PIL import Image

SEED = "hard-sell-or-soft-sell"
SEED_TITLE = "To Hard Sell or to Soft Sell? That is the Question"
BREAKOUT = "Closing </script><script>alert(1)</script> & <b>more</b>"


class _Head(HTMLParser):
    """The meta and link tags of a page, and the text of its JSON-LD blocks."""

    def __init__(self) -> None:
        super().__init__()
        self.metas: dict[str, str] = {}
        self.links: list[dict[str, str]] = []
        self.json_ld: list[str] = []
        self._in_json = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "meta" and ("property" in values or "name" in values):
            self.metas[values.get("property") or values["name"]] = values.get("content", "")
        elif tag == "link":
            self.links.append(values)
        elif tag == "script":
            self._in_json = values.get("type") == "application/ld+json"
            if self._in_json:
                self.json_ld.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_json = False

    def handle_data(self, data: str) -> None:
        if self._in_json:
            self.json_ld[-1] += data


def _head(page: Path) -> _Head:
    parser = _Head()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def _page(project: Path, slug: str) -> Path:
    return project / "dist" / "site" / "issues" / slug / "index.html"


def test_each_issue_page_describes_itself_as_a_blog_posting(
    project: Path, sphere: Callable[..., Result]
) -> None:
    assert sphere("build").status == 0

    head = _head(_page(project, SEED))

    (block,) = head.json_ld
    article = json.loads(block)
    url = f"https://www.jimwigg.com/sphere/issues/{SEED}/"
    assert article["@context"] == "https://schema.org"
    assert article["@type"] == "BlogPosting"
    assert article["headline"] == SEED_TITLE
    assert article["datePublished"] == "2026-12-01"
    assert article["url"] == url == head.metas["og:url"]
    assert article["description"] == head.metas["og:description"]
    assert article["author"] == {
        "@type": "Person",
        "name": "Jim Wigg",
        "url": "https://www.jimwigg.com",
    }
    assert article["publisher"]["name"] == "Sphere"
    logo = article["publisher"]["logo"]["url"]
    assert logo == "https://www.jimwigg.com/sphere/static/apple-touch-icon.png"
    assert (project / "dist/site/static/apple-touch-icon.png").is_file()  # the logo is published
    assert article["image"]["url"] == head.metas["og:image"]
    assert (article["image"]["width"], article["image"]["height"]) == (1200, 630)


def test_a_title_cannot_break_out_of_the_json_ld(
    project: Path, sphere: Callable[..., Result]
) -> None:
    write_issue(project, "2026-11-01-breakout", title=f'"{BREAKOUT}"')
    assert sphere("build").status == 0
    page = _page(project, "breakout")

    head = _head(page)

    (block,) = head.json_ld  # the parser saw one JSON-LD element, whole...
    assert json.loads(block)["headline"] == BREAKOUT  # ...that reads back as the title
    assert page.read_text(encoding="utf-8").count("<script") == 1  # and no other script


def test_og_image_alt_is_the_covers_alt_else_the_title(
    project: Path, sphere: Callable[..., Result]
) -> None:
    (project / "content/images/cover.png").write_bytes(png_bytes(600, 300))
    described = "A sales funnel drawn on a whiteboard"
    write_issue(project, "2026-11-01-funnel", image="images/cover.png", image_alt=described)
    write_issue(project, "2026-10-01-plain", title="Plain cover", image="images/cover.png")
    assert sphere("build").status == 0
    site = project / "dist" / "site"

    funnel, plain = _head(_page(project, "funnel")), _head(_page(project, "plain"))
    seed, index = _head(_page(project, SEED)), _head(site / "index.html")

    assert funnel.metas["og:image:alt"] == described == funnel.metas["twitter:image:alt"]
    assert json.loads(funnel.json_ld[0])["image"]["caption"] == described
    assert 'alt="A sales funnel drawn on a whiteboard"' in _page(project, "funnel").read_text()
    assert plain.metas["og:image:alt"] == "Plain cover"  # a cover without image_alt
    assert seed.metas["og:image:alt"] == SEED_TITLE  # the default image, on an issue
    tagline = "Ideas for improving execution in the sales process"
    assert index.metas["og:image:alt"] == f"Sphere: {tagline}"


def _accent(project: Path) -> tuple[int, int, int]:
    theme = (project / "templates/email/theme.toml").read_text(encoding="utf-8")
    line = next(line for line in theme.splitlines() if line.startswith("accent ="))
    hex_ = line.split('"')[1].lstrip("#")
    return (int(hex_[0:2], 16), int(hex_[2:4], 16), int(hex_[4:6], 16))


def test_png_icons_in_the_themes_colour_sit_beside_the_svg_on_every_page(
    project: Path, sphere: Callable[..., Result]
) -> None:
    theme = project / "templates/email/theme.toml"
    theme.write_text(theme.read_text().replace('accent = "#9b2c2c"', 'accent = "#0b5394"'))
    assert sphere("build").status == 0
    site = project / "dist" / "site"

    for page in site.rglob("*.html"):
        links = _head(page).links
        icons = {(link["rel"], link.get("type"), link.get("sizes")): link["href"] for link in links}
        assert ("icon", "image/svg+xml", None) in icons, page
        png = icons[("icon", "image/png", "32x32")]
        touch = icons[("apple-touch-icon", None, "180x180")]
        if page.name == "404.html":
            continue  # served at any depth: it links from the site's root path
        for href, size in ((png, 32), (touch, 180)):
            with Image.open((page.parent / href).resolve()) as icon:
                assert icon.format == "PNG" and icon.size == (size, size)
                # The edge's middle is the background: the theme's accent, opaque.
                assert icon.convert("RGBA").getpixel((size // 2, 1)) == (*_accent(project), 255)
    with Image.open(site / "static/favicon-32.png") as icon:
        assert icon.convert("RGBA").getpixel((0, 0))[3] < 128  # rounded: a transparent corner
    with Image.open(site / "static/apple-touch-icon.png") as icon:
        assert icon.convert("RGBA").getpixel((0, 0))[3] == 255  # iOS rounds it: square
