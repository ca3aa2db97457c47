"""Markdown to HTML: the issue's body, rendered once and adapted for the archive and the email.

Python-Markdown renders the body with the extensions a writer expects. A tree processor checks
every image as it goes (the file exists, it is a PNG or JPEG, and it gets its pixel size), so a
missing image is a content error at its line rather than a broken picture in 5,000 inboxes. The
email then needs what no stylesheet can give it (Gmail drops `<style>` for some accounts):
`inline_styles` writes each element's style into the element itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import markdown
from markdown.extensions import (
    Extension,
    abbr,
    attr_list,
    def_list,
    fenced_code,
    footnotes,
    sane_lists,
    tables,
)

from sphere.content.elements import Tag, for_every_reader, rewrite, shorten_bare_links
from sphere.content.images import IMAGE_TYPES as IMAGE_TYPES  # (where the preview looks)
from sphere.content.images import ImageProblem, find_image, is_local, published_name
from sphere.content.issues import Issue
from sphere.content.sanitise import sanitise
from sphere.content.typography import SmartPunctuation
from sphere.errors import ContentError

# Smart quotes and dashes come from sphere.content.typography, not Python-Markdown's `smarty`:
# the same output for prose (tests/test_typography.py compares them), for a tenth of smarty's
# cost, which doubles a conversion (+1.3 ms an issue, a quarter of a cold build's CPU; measured
# in issue 24), and it leaves the text inside an author's raw <code> or <kbd> alone.
EXTENSIONS = [
    "fenced_code", "footnotes", "tables", "attr_list", "sane_lists", "def_list", "abbr",
]  # fmt: skip
EXTENSION_CONFIGS: dict[str, dict[str, Any]] = {
    # The footnote back-link must not be an emoji, which some mail clients draw in colour.
    "footnotes": {"BACKLINK_TEXT": "↩&#xFE0E;", "SEPARATOR": "-"},
}
EMAIL_CONTENT_WIDTH = 552  # 600 px wide email minus 24 px padding on each side


@dataclass(frozen=True)
class Image:
    """A local image the body uses, relative to content/ (as published with the archive)."""

    src: str
    width: int
    height: int


@dataclass(frozen=True)
class Body:
    """The issue's body as HTML, with the local images and links it refers to."""

    html: str  # image src relative to content/, e.g. "images/chart.png"
    images: tuple[Image, ...]
    links: tuple[str, ...]


def _extensions() -> list[Extension]:
    """EXTENSIONS as objects: named, Markdown finds them by scanning every installed package's
    entry points, which costs about 40 ms per converter (one per build process). (Imported
    with this module: a build's workers, forked after, find them imported.)"""
    classes: dict[str, type[Extension]] = {
        "fenced_code": fenced_code.FencedCodeExtension,
        "footnotes": footnotes.FootnoteExtension,
        "tables": tables.TableExtension,
        "attr_list": attr_list.AttrListExtension,
        "sane_lists": sane_lists.SaneListExtension,
        "def_list": def_list.DefListExtension,
        "abbr": abbr.AbbrExtension,
    }
    return [classes[name](**EXTENSION_CONFIGS.get(name, {})) for name in EXTENSIONS]


class MarkdownRenderer:
    """One configured Markdown converter, reused for every issue (building it costs ms)."""

    def __init__(self, content_dir: Path):
        self.content_dir = content_dir
        self.images: list[Image] = []
        self.links: list[str] = []
        self._issue: Issue | None = None
        self._md = markdown.Markdown(
            extensions=[*_extensions(), SmartPunctuation()],
            output_format="html",
        )

    def render(self, issue: Issue) -> Body:
        """The body of `issue` as HTML; ContentError for a missing or unusable image.

        Sanitised first (sphere.content.sanitise), then adjusted on the sanitiser's output:
        its images checked and sized (raw `<img>` as Markdown's), blocks given `dir="auto"`,
        long bare URLs shortened.
        """
        self._issue, self.images, self.links = issue, [], []
        self._md.reset()
        html = self.sanitise(self._md.convert(issue.body))
        html = shorten_bare_links(rewrite(html, self._element))
        return Body(html=html, images=tuple(self.images), links=tuple(self.links))

    def sanitise(self, html: str) -> str:
        """The allowlist's part of `html` (`sphere check` also notes what it takes out)."""
        return sanitise(html)

    def _element(self, tag: Tag, open_elements: list[str]) -> Tag | None:
        changed = for_every_reader(tag, open_elements)
        if tag.name == "img" and is_local(tag.get("src")):
            self.on_image(tag)
            return tag
        if tag.name == "a" and tag.get("href"):
            self.links.append(tag.get("href"))
        return changed

    def on_image(self, tag: Tag) -> None:
        """Point a local image at its published path and give it its width and height: the
        author's width (height to scale), else its own width up to the email's column. A
        page that knows an image's size before it loads does not jump as it arrives."""
        image = self.local_image(tag.get("src"))
        tag.attributes["src"] = image.src
        width, height = _pixels(tag.get("width")), _pixels(tag.get("height"))
        if width is None and height is not None:
            width = max(1, round(image.width * height / max(image.height, 1)))
        if width is None:
            width = min(image.width, EMAIL_CONTENT_WIDTH)
        if height is None:
            height = max(1, round(image.height * width / max(image.width, 1)))
        tag.attributes["width"], tag.attributes["height"] = str(width), str(height)
        name = published_name(image.src, image.width, width)
        tag.attributes["src"] = name
        image = Image(src=name, width=image.width, height=image.height)
        # An <img width> inside the email's tables would hold a phone screen open at that
        # width; scaling by style lets it shrink, while Outlook keeps to the attribute.
        own = tag.get("style")
        if "max-width" not in own:
            style = f"width:100%;max-width:{width}px;height:auto;{own}".rstrip(";")
            tag.attributes["style"] = style
        self.images.append(image)

    def local_image(self, src: str, *, key: str | None = None) -> Image:
        """Resolve an image path against content/, and read its size."""
        issue = self._issue
        assert issue is not None  # noqa: S101 (only called while rendering an issue)
        found = find_image(self.content_dir, src)
        if isinstance(found, ImageProblem):
            line = issue.line_of(key) if key else _line_of(issue, src)
            raise ContentError(found.message, path=issue.path, line=line, key=key)
        return Image(src=found.src, width=found.width, height=found.height)

    def cover(self, issue: Issue) -> Image | None:
        """The front matter's `image`, checked like the body's images."""
        if not issue.image:
            return None
        self._issue = issue
        return self.local_image(issue.image, key="image")


def _pixels(value: str) -> int | None:
    """A width or height attribute as a whole number of pixels (None: absent or not one)."""
    value = value.strip().removesuffix("px")
    return int(value) if value.isdigit() and 0 < int(value) <= 10_000 else None


def _line_of(issue: Issue, needle: str) -> int:
    for offset, line in enumerate(issue.body.splitlines()):
        if needle in line:
            return issue.body_line + offset
    return issue.body_line


# --- the email's inline styles -------------------------------------------------------------

_START_TAG = re.compile(r"<([a-z][a-z0-9]*)(\s[^<>]*?)?(/?)>")
_STYLE_ATTR = re.compile(r'\sstyle="([^"]*)"')


def inline_styles(html: str, styles: Mapping[str, str]) -> str:
    """Give every start tag named in `styles` that style inline, before any style it has.

    The author's own style (from `{style="..."}` in Markdown) comes last, so it wins.
    """

    def restyle(match: re.Match[str]) -> str:
        tag, attributes, close = match.group(1), match.group(2) or "", match.group(3)
        style = styles.get(tag)
        if not style:
            return match.group(0)
        own = _STYLE_ATTR.search(attributes)
        if own:
            attributes = _STYLE_ATTR.sub("", attributes, count=1)
            style = f"{style};{own.group(1)}"
        return f'<{tag}{attributes} style="{style}"{close}>'

    return _START_TAG.sub(restyle, html)


def rebase_images(html: str, images: tuple[Image, ...], prefix: str) -> str:
    """Point the body's local images at `prefix` + their path (absolute for email)."""
    for image in {image.src for image in images}:
        html = html.replace(f'src="{image}"', f'src="{prefix}{image}"')
    return html


URL_ATTRIBUTE = r'\b(href|src)="([^"]*)"'  # what absolute_links finds, as a regex
# Without its leading \b, which made the regex engine test every position of the HTML (2.4x
# slower on an issue's body); `_url_attributes` checks the word boundary itself.
_URL_ATTR = re.compile(URL_ATTRIBUTE.removeprefix(r"\b"))


def absolute_links(html: str, page_url: str) -> str:
    """Resolve relative links and images against the archive page they were written for.

    An issue may link to another as `../other-slug/`: right on the archive page, nowhere
    from an inbox or a feed reader, which need `page_url` joined in.
    """
    parts, last = [], 0
    for match in _url_attributes(html):
        url = match.group(2)
        if not url or url.startswith(("#", "//")) or urlsplit(url).scheme:
            continue
        parts += [html[last : match.start()], f'{match.group(1)}="{urljoin(page_url, url)}"']
        last = match.end()
    return "".join(parts) + html[last:] if parts else html


def _url_attributes(html: str) -> Iterator[re.Match[str]]:
    """The matches of URL_ATTRIBUTE in `html`, as re.finditer would give them."""
    at = 0
    while (match := _URL_ATTR.search(html, at)) is not None:
        start = match.start()
        before = html[start - 1] if start else " "
        if before.isalnum() or before == "_":  # no word boundary (\w is alnum or _): not one
            at = start + 1
            continue
        yield match
        at = match.end()
