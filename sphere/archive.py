"""The web archive: an index, a page per issue, an Atom feed, a sitemap and a 404 page.

Pages link to each other and to their stylesheet and images by relative URLs, so the archive
works at any base URL (a sub-path included) and straight from the folder. Only the canonical
and Open Graph URLs, the feed and the sitemap are absolute, as those formats require.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup

from sphere.build.output import Output
from sphere.content.issues import Issue
from sphere.content.markup import absolute_links, rebase_images
from sphere.render.email import RenderedIssue, archive_url, template_error
from sphere.settings import Settings

STATIC = "static"


@dataclass(frozen=True)
class FeedEntry:
    issue: Issue
    url: str
    html: str


@dataclass(frozen=True)
class SitemapPage:
    url: str
    date: Any = None


def write_archive(
    settings: Settings,
    env: jinja2.Environment,
    rendered: Sequence[RenderedIssue],
    site: Path,
    *,
    previous: Path | None = None,
) -> list[Path]:
    """Write the whole archive for `rendered` (newest first) into the empty folder `site`.

    Files identical to those of the `previous` build's archive are linked, not rewritten.
    """
    output = Output(site, previous)

    def page(name: str, template: str, root: str, canonical: str, **context: Any) -> None:
        try:
            text = env.get_template(template).render(
                site=settings, root=root, canonical=canonical, **context
            )
        except jinja2.TemplateError as error:
            raise template_error(error, settings.templates_dir, template) from None
        output.write_text(name, text)

    issues = [item.issue for item in rendered]
    page("index.html", "web/index.html.j2", "", settings.base_url, issues=issues)
    for index, item in enumerate(rendered):
        newer = issues[index - 1] if index > 0 else None
        older = issues[index + 1] if index + 1 < len(issues) else None
        body = Markup(rebase_images(item.body.html, item.body.images, "../../"))  # noqa: S704
        page(
            f"issues/{item.issue.slug}/index.html",
            "web/issue.html.j2",
            "../../",
            archive_url(settings, item.issue),
            issue=item.issue,
            body=body,
            cover=item.cover,
            newer=newer,
            older=older,
        )
    # The 404 page is served at any depth, so it links from the site's root path.
    page("404.html", "web/404.html.j2", urlsplit(settings.base_url).path, settings.base_url)
    entries = [
        FeedEntry(
            issue=item.issue,
            url=archive_url(settings, item.issue),
            html=absolute_links(
                rebase_images(item.body.html, item.body.images, settings.base_url),
                archive_url(settings, item.issue),
            ),
        )
        for item in rendered
    ]
    updated = max((item.issue.date for item in rendered), default=dt.date.today())
    page("feed.xml", "web/feed.xml.j2", "", settings.base_url, entries=entries, updated=updated)
    pages = [SitemapPage(settings.base_url, updated)] + [
        SitemapPage(entry.url, entry.issue.date) for entry in entries
    ]
    page("sitemap.xml", "web/sitemap.xml.j2", "", settings.base_url, pages=pages)
    copy_assets(settings, rendered, output)
    return output.files


def copy_assets(settings: Settings, rendered: Sequence[RenderedIssue], output: Output) -> None:
    """The theme's static files, and the images the published issues use (drafts' stay out)."""
    static = settings.templates_dir / STATIC
    for source in sorted(static.rglob("*")) if static.is_dir() else []:
        if source.is_file():
            output.copy(f"{STATIC}/{source.relative_to(static).as_posix()}", source)
    for image in sorted({image.src for item in rendered for image in item.images}):
        output.copy(image, settings.content_dir / image)
