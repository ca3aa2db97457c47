"""The web archive: an index, a page per issue, an Atom feed, a sitemap and a 404 page.

Pages link to each other and to their stylesheet and images by relative URLs, so the archive
works at any base URL (a sub-path included) and straight from the folder. Only the canonical
and Open Graph URLs, the feed and the sitemap are absolute, as those formats require.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup

from sphere.content.issues import Issue
from sphere.content.markup import absolute_links, rebase_images
from sphere.output import Output
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
    (`sphere build` calls the parts below from several processes: each writes its own
    issues' pages, and one the index, feed and sitemap.)
    """
    output = Output(site, previous)
    issues = [item.issue for item in rendered]
    for index, item in enumerate(rendered):
        newer = issues[index - 1] if index > 0 else None
        older = issues[index + 1] if index + 1 < len(issues) else None
        write_issue_page(settings, env, output, item, newer=newer, older=older)
    entries = [
        FeedEntry(item.issue, archive_url(settings, item.issue), feed_html(settings, item))
        for item in rendered
    ]
    write_indexes(settings, env, output, entries)
    copy_assets(settings, {image.src for item in rendered for image in item.images}, output)
    return output.files


def _page(
    settings: Settings,
    env: jinja2.Environment,
    output: Output,
    name: str,
    template: str,
    root: str,
    canonical: str,
    **context: Any,
) -> None:
    try:
        text = env.get_template(template).render(
            site=settings, root=root, canonical=canonical, **context
        )
    except jinja2.TemplateError as error:
        raise template_error(error, settings.templates_dir, template) from None
    output.write_text(name, text)


def write_issue_page(
    settings: Settings,
    env: jinja2.Environment,
    output: Output,
    item: RenderedIssue,
    *,
    newer: Issue | None,
    older: Issue | None,
) -> None:
    """The issue's own page, linking to its `newer` and `older` neighbours."""
    body = Markup(rebase_images(item.body.html, item.body.images, "../../"))  # noqa: S704
    _page(
        settings,
        env,
        output,
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


def feed_html(settings: Settings, item: RenderedIssue) -> str:
    """The issue's body as the feed carries it: every link and image absolute."""
    return absolute_links(
        rebase_images(item.body.html, item.body.images, settings.base_url),
        archive_url(settings, item.issue),
    )


def write_indexes(
    settings: Settings, env: jinja2.Environment, output: Output, entries: Sequence[FeedEntry]
) -> None:
    """The index, the 404 page, the feed and the sitemap, for `entries` (newest first)."""
    issues = [entry.issue for entry in entries]
    _page(
        settings,
        env,
        output,
        "index.html",
        "web/index.html.j2",
        "",
        settings.base_url,
        issues=issues,
    )
    # The 404 page is served at any depth, so it links from the site's root path.
    root = urlsplit(settings.base_url).path
    _page(settings, env, output, "404.html", "web/404.html.j2", root, settings.base_url)
    updated = max((issue.date for issue in issues), default=dt.date.today())
    _page(
        settings,
        env,
        output,
        "feed.xml",
        "web/feed.xml.j2",
        "",
        settings.base_url,
        entries=entries,
        updated=updated,
    )
    pages = [SitemapPage(settings.base_url, updated)] + [
        SitemapPage(entry.url, entry.issue.date) for entry in entries
    ]
    _page(
        settings,
        env,
        output,
        "sitemap.xml",
        "web/sitemap.xml.j2",
        "",
        settings.base_url,
        pages=pages,
    )


def copy_assets(settings: Settings, images: Iterable[str], output: Output) -> None:
    """The theme's static files, and `images` (those the published issues use; drafts' stay out)."""
    static = settings.templates_dir / STATIC
    for source in sorted(static.rglob("*")) if static.is_dir() else []:
        if source.is_file():
            output.copy(f"{STATIC}/{source.relative_to(static).as_posix()}", source)
    for image in sorted(images):
        output.copy(image, settings.content_dir / image)
