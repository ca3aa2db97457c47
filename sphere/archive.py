"""The web archive: an index, a page per issue, an Atom feed, a sitemap and a 404 page.

Pages link to each other and to their stylesheet and images by relative URLs, so the archive
works at any base URL (a sub-path included) and straight from the folder. Only the canonical
and Open Graph URLs, the feed and the sitemap are absolute, as those formats require.

The feed and the sitemap list only the issues whose date has come (`Issue.is_due`): a preview
archive (drafts and scheduled issues included) marks the others on the index and their own
pages, and never announces them.
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
from sphere.content.images import ImageProblem, find_image
from sphere.content.issues import Issue
from sphere.content.markup import Image, absolute_links, rebase_images
from sphere.errors import SettingsError
from sphere.render.email import RenderedIssue
from sphere.render.environment import IssueFields, issue_fields, site_fields, template_error
from sphere.render.theme import load_theme
from sphere.render.urls import archive_url, asset_url, issue_path
from sphere.settings import Settings

STATIC = "static"
# Rendered with the theme's colours into the archive's static files (a colour is defined once).
THEMED_STATIC = {"web/style.css.j2": "style.css", "web/favicon.svg.j2": "favicon.svg"}


@dataclass(frozen=True)
class FeedEntry:
    issue: IssueFields
    url: str
    html: str


@dataclass(frozen=True)
class SitemapPage:
    url: str
    date: Any = None


@dataclass(frozen=True)
class CardImage:
    """The picture a link preview shows (og:image), absolute, with its size."""

    url: str
    width: int
    height: int


def write_archive(
    settings: Settings,
    env: jinja2.Environment,
    rendered: Sequence[RenderedIssue],
    site: Path,
    *,
    previous: Path | None = None,
    today: dt.date | None = None,
) -> list[Path]:
    """Write the whole archive for `rendered` (newest first) into the empty folder `site`.

    Every issue given gets a page and a place on the index, marked "Draft" or "Scheduled"
    unless it is due on `today` (default: the newsletter's today); the feed and the sitemap
    hold only the due ones. Files identical to those of the `previous` build's archive are
    linked, not rewritten.
    """
    today = today or settings.today()
    output = Output(site, previous)
    default_image = _default_image(settings)
    default_card = _card(settings, default_image) if default_image else None
    public = site_fields(settings)

    def page(name: str, template: str, root: str, canonical: str | None, **context: Any) -> None:
        context.setdefault("card", default_card)
        try:
            text = env.get_template(template).render(
                site=public, root=root, canonical=canonical, **context
            )
        except jinja2.TemplateError as error:
            raise template_error(error, settings.templates_dir, template) from None
        output.write_text(name, text)

    issues = [_with_state(item.issue, today) for item in rendered]
    page("index.html", "web/index.html.j2", "", settings.base_url, issues=issues)
    for index, item in enumerate(rendered):
        body = Markup(rebase_images(item.body.html, item.body.images, "../../"))  # noqa: S704
        page(
            f"{issue_path(item.issue.slug)}index.html",
            "web/issue.html.j2",
            "../../",
            archive_url(settings, item.issue.slug),
            issue=issues[index],
            body=body,
            cover=item.cover,
            card=_card(settings, item.cover) if item.cover else default_card,
            newer=issues[index - 1] if index > 0 else None,
            older=issues[index + 1] if index + 1 < len(issues) else None,
        )
    # The 404 page is served at any depth, so it links from the site's root path; it has no
    # canonical URL of its own (pointing at the index would tell search engines it is one).
    page("404.html", "web/404.html.j2", urlsplit(settings.base_url).path, None)
    due = [item for item in rendered if item.issue.is_due(today)]
    entries = [_entry(settings, item, issues[rendered.index(item)]) for item in due]
    updated = max((item.issue.date for item in due), default=today)
    page("feed.xml", "web/feed.xml.j2", "", settings.base_url, entries=entries, updated=updated)
    pages = [SitemapPage(settings.base_url, updated)] + [
        SitemapPage(entry.url, entry.issue["date"]) for entry in entries
    ]
    page("sitemap.xml", "web/sitemap.xml.j2", "", settings.base_url, pages=pages)
    theme = load_theme(settings.templates_dir)
    for template, name in _themed_static(settings).items():
        page(f"{STATIC}/{name}", template, "", None, theme=theme)
    copy_assets(settings, rendered, output, extra=[default_image] if default_image else [])
    return output.files


def _with_state(issue: Issue, today: dt.date) -> IssueFields:
    """The issue as the archive's templates see it, with its `state` on `today`."""
    return IssueFields(issue_fields(issue), state=issue.state(today))


def _entry(settings: Settings, item: RenderedIssue, issue: IssueFields) -> FeedEntry:
    url = archive_url(settings, item.issue.slug)
    html = rebase_images(item.body.html, item.body.images, settings.base_url)
    return FeedEntry(issue=issue, url=url, html=absolute_links(html, url))


def _card(settings: Settings, image: Image) -> CardImage:
    return CardImage(asset_url(settings, image.src), image.width, image.height)


def _default_image(settings: Settings) -> Image | None:
    """The `default_image` setting: link previews' picture (None when it is not set)."""
    if not settings.default_image:
        return None
    found = find_image(settings.content_dir, settings.default_image)
    if isinstance(found, ImageProblem):
        raise SettingsError(f"[tool.sphere].default_image: {found.message}", path=settings.source)
    return Image(found.src, found.width, found.height)


def copy_assets(
    settings: Settings,
    rendered: Sequence[RenderedIssue],
    output: Output,
    *,
    extra: Sequence[Image] = (),
) -> None:
    """The theme's static files, and the images the archive's issues use (drafts left out of
    the archive leave theirs out too), and `extra` ones (the default link-preview image)."""
    static = settings.templates_dir / STATIC
    themed = set(_themed_static(settings).values())
    for relative in static_files(static):
        if relative not in themed:  # a themed template of the same name wins
            output.copy(f"{STATIC}/{relative}", static / relative)
    images = {image.src for item in rendered for image in item.images}
    for image in sorted(images | {image.src for image in extra}):
        output.copy(image, settings.content_dir / image)


def _themed_static(settings: Settings) -> dict[str, str]:
    """The theme's templates of static files that it has (template -> name under static/)."""
    return {
        template: name
        for template, name in THEMED_STATIC.items()
        if (settings.templates_dir / template).is_file()
    }


def static_files(folder: Path) -> list[str]:
    """The regular files under `folder`, as sorted POSIX paths relative to it.

    Symbolic links are not followed, to files or to folders: a link in a guest's pull request
    must not publish a file from elsewhere on the machine (a key, a store) with the archive.
    """
    if folder.is_symlink() or not folder.is_dir():
        return []
    found = []
    for top, _folders, files in os.walk(folder):  # os.walk does not enter linked folders
        here = Path(top)
        found += [
            (here / name).relative_to(folder).as_posix()
            for name in files
            if not (here / name).is_symlink() and (here / name).is_file()
        ]
    return sorted(found)
