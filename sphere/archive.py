"""The web archive: an index, a page per issue, an Atom feed, a sitemap and a 404 page.

Pages link to each other and to their stylesheet and images by relative URLs, so the archive
works at any base URL (a sub-path included) and straight from the folder. Only the canonical
and Open Graph URLs, the feed and the sitemap are absolute, as those formats require.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup

from sphere.build.output import Output
from sphere.content.markup import absolute_links, rebase_images
from sphere.render.email import RenderedIssue
from sphere.render.environment import IssueFields, issue_fields, site_fields, template_error
from sphere.render.urls import archive_url
from sphere.settings import Settings

STATIC = "static"


@dataclass(frozen=True)
class FeedEntry:
    issue: IssueFields
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
    public = site_fields(settings)

    def page(name: str, template: str, root: str, canonical: str, **context: Any) -> None:
        try:
            text = env.get_template(template).render(
                site=public, root=root, canonical=canonical, **context
            )
        except jinja2.TemplateError as error:
            raise template_error(error, settings.templates_dir, template) from None
        output.write_text(name, text)

    issues = [issue_fields(item.issue) for item in rendered]
    page("index.html", "web/index.html.j2", "", settings.base_url, issues=issues)
    for index, item in enumerate(rendered):
        newer = issues[index - 1] if index > 0 else None
        older = issues[index + 1] if index + 1 < len(issues) else None
        body = Markup(rebase_images(item.body.html, item.body.images, "../../"))  # noqa: S704
        page(
            f"issues/{item.issue.slug}/index.html",
            "web/issue.html.j2",
            "../../",
            archive_url(settings, item.issue.slug),
            issue=issues[index],
            body=body,
            cover=item.cover,
            newer=newer,
            older=older,
        )
    # The 404 page is served at any depth, so it links from the site's root path.
    page("404.html", "web/404.html.j2", urlsplit(settings.base_url).path, settings.base_url)
    entries = [
        FeedEntry(
            issue=issues[index],
            url=archive_url(settings, item.issue.slug),
            html=absolute_links(
                rebase_images(item.body.html, item.body.images, settings.base_url),
                archive_url(settings, item.issue.slug),
            ),
        )
        for index, item in enumerate(rendered)
    ]
    updated = max((item.issue.date for item in rendered), default=dt.date.today())
    page("feed.xml", "web/feed.xml.j2", "", settings.base_url, entries=entries, updated=updated)
    pages = [SitemapPage(settings.base_url, updated)] + [
        SitemapPage(entry.url, entry.issue["date"]) for entry in entries
    ]
    page("sitemap.xml", "web/sitemap.xml.j2", "", settings.base_url, pages=pages)
    copy_assets(settings, rendered, output)
    return output.files


def copy_assets(settings: Settings, rendered: Sequence[RenderedIssue], output: Output) -> None:
    """The theme's static files, and the images the published issues use (drafts' stay out)."""
    static = settings.templates_dir / STATIC
    for relative in static_files(static):
        output.copy(f"{STATIC}/{relative}", static / relative)
    for image in sorted({image.src for item in rendered for image in item.images}):
        output.copy(image, settings.content_dir / image)


def static_files(folder: Path) -> list[str]:
    """The regular files under `folder`, as sorted POSIX paths relative to it.

    Symbolic links are not followed, to files or to folders: a link in a guest's pull request
    must not publish a file from elsewhere on the machine (a key, a store) with the archive.
    """
    if folder.is_symlink() or not folder.is_dir():
        return []
    found = []
    for top, folders, files in os.walk(folder):  # os.walk does not enter linked folders
        here = Path(top)
        found += [
            (here / name).relative_to(folder).as_posix()
            for name in files
            if not (here / name).is_symlink() and (here / name).is_file()
        ]
        folders.sort()
    return sorted(found)
