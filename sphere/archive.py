"""The web archive: an index, a page per issue, an Atom feed, a sitemap and a 404 page.

Pages link to each other and to their stylesheet and images by relative URLs, so the archive
works at any base URL (a sub-path included) and straight from the folder. Only the canonical
and Open Graph URLs, the feed and the sitemap are absolute, as those formats require.

The feed and the sitemap list only the issues whose date has come (`Issue.is_due`): a preview
archive (drafts and scheduled issues included) marks the others on the index and their own
pages, and never announces them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup

from sphere.content.images import ImageProblem, find_image, original_of, resized
from sphere.content.issues import Issue
from sphere.content.markup import Image, absolute_links, rebase_images
from sphere.errors import RenderError, SettingsError
from sphere.output import Output, files_below
from sphere.render.body import for_archive, for_feed
from sphere.render.email import RenderedIssue
from sphere.render.environment import (
    TEMPLATE_FAILURES,
    IssueFields,
    issue_fields,
    render_limited,
    site_fields,
    template_error,
)
from sphere.render.theme import THEME, load_theme
from sphere.render.urls import archive_url, asset_url, issue_path
from sphere.settings import Settings

STATIC = "static"
FEED_TEMPLATE = "web/feed.xml.j2"
ISSUE_TEMPLATE = "web/issue.html.j2"
# Rendered with the theme's colours into the archive's static files (a colour is defined once).
THEMED_STATIC = {"web/style.css.j2": "style.css", "web/favicon.svg.j2": "favicon.svg"}
# Named by a hash of their content (style.1a2b3c4d5e.css), so that the archive may keep them a
# year (sphere/site/files.py) and a changed theme is fetched at once all the same. Templates
# link to them as `static["style.css"]`.
FINGERPRINTED = frozenset({"style.css"})


# What the feed's and the sitemap's templates loop over: mappings, as everything a template
# sees (the sandbox reads a key faster than it checks an attribute: a tenth of the feed's time).
class FeedEntry(TypedDict):
    issue: IssueFields
    url: str
    html: str


class SitemapPage(TypedDict):
    url: str
    date: dt.date | None


@dataclass(frozen=True)
class CardImage:
    """The picture a link preview shows (og:image), absolute, with its size and what it shows
    (og:image:alt: the issue's `image_alt`, else the page's title)."""

    url: str
    width: int
    height: int
    alt: str


class Pages:
    """What every page of one archive shares: its templates, the public settings, the day that
    decides each issue's state, and the default link-preview picture. Made once per process
    (`sphere build` writes issue pages from several), then asked for page after page."""

    def __init__(self, settings: Settings, env: jinja2.Environment, output: Output, today: dt.date):
        self.settings, self.env, self.output, self.today = settings, env, output, today
        self.public = site_fields(settings)
        self.themed = themed_static(settings, env, self.public)
        self.static = static_names(self.themed)
        self.default_image = _default_image(settings)
        title = f"{settings.name}: {settings.tagline}"
        image = self.default_image
        self.default_card = _card(settings, image, title) if image else None

    def fields(self, issue: Issue) -> IssueFields:
        """The issue as the archive's templates see it, with its `state` on `today`."""
        return IssueFields(issue_fields(issue), state=issue.state(self.today))

    def _page(
        self, name: str, template: str, root: str, canonical: str | None, **context: Any
    ) -> None:
        context.setdefault("card", self.default_card)
        context.update(site=self.public, root=root, canonical=canonical, static=self.static)
        spans = max(1, *(len(context.get(key) or ()) for key in ("issues", "entries", "pages")))
        try:
            text = render_limited(self.env.get_template(template), context, issues=spans)
        except TEMPLATE_FAILURES as error:
            raise template_error(error, self.settings.templates_dir, template) from None
        self.output.write_text(name, text)

    def compile(self, template: str) -> None:
        """Compile `template` now, ahead of its page: the build does it while the issues
        render, so that the feed, which must wait for them, is quicker to write."""
        try:
            self.env.get_template(template)
        except jinja2.TemplateError as error:
            raise template_error(error, self.settings.templates_dir, template) from None

    def issue_page(self, item: RenderedIssue, *, newer: Issue | None, older: Issue | None) -> None:
        """The issue's own page, linking to its `newer` and `older` neighbours."""
        html = for_archive(rebase_images(item.body.html, item.body.images, "../../"))
        body = Markup(html)  # noqa: S704 (sanitised: sphere.content.sanitise)
        issue, url = item.issue, archive_url(self.settings, item.issue.slug)
        card: CardImage | None = None
        if item.cover:
            card = _card(self.settings, item.cover, issue.image_alt or issue.title)
        elif self.default_card:
            card = dataclasses.replace(self.default_card, alt=issue.title)
        self._page(
            f"{issue_path(issue.slug)}index.html",
            ISSUE_TEMPLATE,
            "../../",
            url,
            issue=self.fields(issue),
            body=body,
            cover=item.cover,
            card=card,
            article=article_data(self.settings, issue, url, card),
            newer=self.fields(newer) if newer else None,
            older=self.fields(older) if older else None,
        )

    def indexes(self, issues: Sequence[Issue]) -> None:
        """The index (every issue given, newest first), the 404 page, the sitemap (only the
        issues due on `today`) and the themed static files: what needs no rendered issue."""
        settings = self.settings
        fields = [self.fields(issue) for issue in issues]
        # The build indexes the published issues (sphere/build/search.py): none, no search box.
        searchable = settings.search and any(f["state"] == "published" for f in fields)
        self._page(
            "index.html",
            "web/index.html.j2",
            "",
            settings.base_url,
            issues=fields,
            searchable=searchable,
        )
        # The 404 page is served at any depth, so it links from the site's root path; it has
        # no canonical URL of its own (pointing at the index would tell search engines it is).
        self._page("404.html", "web/404.html.j2", urlsplit(settings.base_url).path, None)
        due = [issue for issue in issues if issue.is_due(self.today)]
        updated = self._updated(due)
        pages = [SitemapPage(url=settings.base_url, date=updated)] + [
            SitemapPage(url=archive_url(settings, issue.slug), date=issue.date) for issue in due
        ]
        self._page("sitemap.xml", "web/sitemap.xml.j2", "", settings.base_url, pages=pages)
        for name, text in self.themed.values():
            self.output.write_text(f"{STATIC}/{name}", text)
        for name, data in _icons(settings).items():
            self.output.write(f"{STATIC}/{name}", data)

    def feed(self, issues: Sequence[Issue], feed_bodies: Sequence[str]) -> None:
        """The Atom feed of the issues due on `today`; `feed_bodies` are `feed_html` of each
        issue given."""
        settings = self.settings
        entries = [
            FeedEntry(issue=self.fields(issue), url=archive_url(settings, issue.slug), html=body)
            for issue, body in zip(issues, feed_bodies, strict=True)
            if issue.is_due(self.today)
        ]
        updated = self._updated([issue for issue in issues if issue.is_due(self.today)])
        self._page(
            "feed.xml", FEED_TEMPLATE, "", settings.base_url, entries=entries, updated=updated
        )

    def _updated(self, due: Sequence[Issue]) -> dt.date:
        """When the feed and the sitemap last changed: the newest due issue's date."""
        return max((issue.date for issue in due), default=self.today)

    def assets(self, images: Iterable[str]) -> None:
        """The theme's static files, `images` (those the archived issues use: drafts left out
        of the archive leave theirs out too) and the default link-preview picture."""
        extra = [self.default_image.src] if self.default_image else []
        copy_assets(self.settings, [*images, *extra], self.output)


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
    linked, not rewritten. (`sphere build` calls the same `Pages` from several processes:
    each writes its own issues' pages, and one the indexes.)
    """
    output = Output(site, previous)
    pages = Pages(settings, env, output, today or settings.today())
    issues = [item.issue for item in rendered]
    for index, item in enumerate(rendered):
        newer = issues[index - 1] if index > 0 else None
        older = issues[index + 1] if index + 1 < len(issues) else None
        pages.issue_page(item, newer=newer, older=older)
    pages.indexes(issues)
    pages.feed(issues, [feed_html(settings, item) for item in rendered])
    pages.assets(image.src for item in rendered for image in item.images)
    return output.files


def feed_html(settings: Settings, item: RenderedIssue) -> str:
    """The issue's body as the feed carries it: every link and image absolute."""
    url = archive_url(settings, item.issue.slug)
    html = absolute_links(rebase_images(item.body.html, item.body.images, settings.base_url), url)
    return for_feed(html, url)


def _card(settings: Settings, image: Image, alt: str) -> CardImage:
    return CardImage(asset_url(settings, image.src), image.width, image.height, alt)


def article_data(
    settings: Settings, issue: Issue, url: str, card: CardImage | None
) -> dict[str, Any]:
    """The issue as schema.org's BlogPosting, for search engines and link previews (JSON-LD).

    A plain mapping: the template writes it with Jinja's `tojson`, which escapes `<`, `>`, `&`
    and `'`, so no title can close the <script> element it sits in.
    """
    author: dict[str, Any] = {"@type": "Person", "name": settings.author}
    if settings.website:
        author["url"] = settings.website
    logo = {"@type": "ImageObject", "url": f"{settings.base_url}{STATIC}/apple-touch-icon.png"}
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "BlogPosting",
        "headline": issue.title,
        "description": issue.summary,
        "datePublished": issue.date.isoformat(),
        "url": url,
        "mainEntityOfPage": url,
        "inLanguage": settings.language,
        "author": author,
        "publisher": {
            "@type": "Organization",
            "name": settings.name,
            "url": settings.base_url,
            "logo": {**logo, "width": 180, "height": 180},
        },
    }
    if card:
        data["image"] = {
            "@type": "ImageObject",
            "url": card.url,
            "width": card.width,
            "height": card.height,
            "caption": card.alt,
        }
    return data


def _icons(settings: Settings) -> dict[str, bytes]:
    """The PNG icons (sphere.icons) in the theme's accent colour."""
    from sphere.icons import colour, icons

    accent = str(load_theme(settings.templates_dir)["colors"].get("accent", ""))
    try:
        rgba = colour(accent)
    except ValueError:
        where = settings.templates_dir / THEME
        raise RenderError(f"[colors].accent: not a colour, got {accent!r}", path=where) from None
    return icons(rgba)


def _default_image(settings: Settings) -> Image | None:
    """The `default_image` setting: link previews' picture (None when it is not set)."""
    if not settings.default_image:
        return None
    found = find_image(settings.content_dir, settings.default_image)
    if isinstance(found, ImageProblem):
        raise SettingsError(f"[tool.sphere].default_image: {found.message}", path=settings.source)
    return Image(found.src, found.width, found.height)


def copy_assets(settings: Settings, images: Iterable[str], output: Output) -> None:
    """The theme's static files (a themed template of the same name wins) and `images`."""
    static = settings.templates_dir / STATIC
    themed = set(_themed_static(settings).values())
    for relative in static_files(static):
        if relative not in themed:
            output.copy(f"{STATIC}/{relative}", static / relative)
    for image in sorted(set(images)):
        original, width = original_of(image)
        if width is None:
            output.copy(image, settings.content_dir / image)
        else:
            output.write(image, resized(settings.content_dir / original, width))


def themed_static(
    settings: Settings, env: jinja2.Environment, public: dict[str, Any]
) -> dict[str, tuple[str, str]]:
    """The theme's static templates that it has, rendered: template -> (name, text)."""
    themed = _themed_static(settings)
    if not themed:
        return {}
    theme = load_theme(settings.templates_dir)
    rendered = {}
    for template, name in themed.items():
        context = {"site": public, "root": "", "canonical": None, "card": None, "theme": theme}
        try:
            text = render_limited(env.get_template(template), context)
        except TEMPLATE_FAILURES as error:
            raise template_error(error, settings.templates_dir, template) from None
        rendered[template] = (_fingerprinted(name, text) if name in FINGERPRINTED else name, text)
    return rendered


def static_names(themed: dict[str, tuple[str, str]]) -> dict[str, str]:
    """What templates link to as `static[NAME]`: each themed file's published name (a plain
    static file keeps its own)."""
    names = {name: name for name in THEMED_STATIC.values()}
    names.update({THEMED_STATIC[template]: name for template, (name, _) in themed.items()})
    return names


def _fingerprinted(name: str, text: str) -> str:
    stem, _, suffix = name.rpartition(".")
    return f"{stem}.{hashlib.sha256(text.encode('utf-8')).hexdigest()[:10]}.{suffix}"


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
    return sorted(n for n, entry in files_below(folder) if entry.is_file(follow_symlinks=False))
