"""An issue's body as rendered: its images, links and headings, each traced back to the line
of Markdown it came from (the renderer keeps no line numbers, so the source is searched)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from sphere.checks.findings import Finding, finding
from sphere.checks.html import unsafe_html
from sphere.checks.links import archive_slug, external, url_problems, vague_text
from sphere.content.images import ImageProblem, find_image, is_local
from sphere.content.issues import Issue
from sphere.content.markup import EMAIL_CONTENT_WIDTH, Image, MarkdownRenderer
from sphere.content.sanitise import Removal, as_browsers_read, removals
from sphere.errors import ContentError

IMAGE_LIMIT = 200 * 1024  # bytes: a phone on a slow network should not wait for one picture


class LenientMarkdown(MarkdownRenderer):
    """The build's Markdown renderer, but an unusable image is the check's finding to report
    (with its own rule), not an error that stops the issue.

    The build gives each Markdown image a width (at most the email's) unless the author set
    one, so a width over 552 px in the HTML is the author's, and raw HTML `<img>` has none.
    """

    def __init__(self, content_dir: Path):
        super().__init__(content_dir)
        self.read = ""  # the last body as browsers read it, before sanitising
        self.removed: list[Removal] = []  # what sanitising took out of it

    def sanitise(self, html: str) -> str:
        self.read = as_browsers_read(html)
        kept = super().sanitise(html)
        self.removed = removals(self.read, kept)
        return kept

    def local_image(self, src: str, *, key: str | None = None) -> Image:
        try:
            return super().local_image(src, key=key)
        except ContentError:
            return Image(src=src, width=1, height=1)


@dataclass
class _Element:
    tag: str
    attrs: dict[str, str]
    text: list[str] = field(default_factory=list)


class _Collector(HTMLParser):
    """Images, links (with their text, an image's alt counting as text) and headings."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[_Element] = []
        self._open: list[_Element] = []  # links and headings whose text is being read

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = _Element(tag, {k: v or "" for k, v in attrs})
        if tag == "img":
            self.elements.append(element)
            for outer in self._open:
                outer.text.append(element.attrs.get("alt", ""))
        elif tag == "a" or re.fullmatch(r"h[1-6]", tag):
            self.elements.append(element)
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index].tag == tag:
                del self._open[index:]
                break

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.text.append(data)


class Locator:
    """Finds the Markdown line of each element, in document order.

    Each match is used once: a link or image that appears twice (on two lines, or twice on
    one line) is traced to each place in turn. Searching starts at the line of the last
    element found (not past its match: an image inside a link comes before the link's target
    in the source, though after the link in the HTML), and falls back to the whole body.
    """

    def __init__(self, issue: Issue):
        self.issue = issue
        self.lines = issue.body.splitlines()
        self.cursor = 0  # the line of the last element found in document order
        self.used: dict[int, list[tuple[int, int]]] = {}  # line -> spans already matched

    def find(self, *needles: str | re.Pattern[str]) -> int:
        # From the cursor, then from the top; last, a place already used (a reference-style
        # link's target serves every use of it).
        for start, fresh in ((self.cursor, True), (0, True), (0, False)):
            for needle in needles:
                for index in range(start, len(self.lines)):
                    span = self._search(needle, index, fresh=fresh)
                    if span is None:
                        continue
                    if fresh:
                        self.used.setdefault(index, []).append(span)
                    if start == self.cursor and fresh:
                        self.cursor = index
                    return self.issue.body_line + index
        return self.issue.text_line

    def _search(
        self, needle: str | re.Pattern[str], index: int, *, fresh: bool
    ) -> tuple[int, int] | None:
        """The first match of `needle` on line `index` not yet used (any, unless `fresh`)."""
        line, used = self.lines[index], self.used.get(index, [])
        position = 0
        while position <= len(line):
            if isinstance(needle, re.Pattern):
                match = needle.search(line, position)
                span = match.span() if match else None
            else:
                at = line.find(needle, position)
                span = (at, at + len(needle)) if at >= 0 else None
            if span is None:
                return None
            if not fresh or not any(span[0] < end and begin < span[1] for begin, end in used):
                return span
            position = span[0] + 1
        return None


@dataclass
class BodyReport:
    """The body's findings, and the links that need the other issues or the network."""

    findings: list[Finding] = field(default_factory=list)
    archive_links: list[tuple[str, int, str]] = field(default_factory=list)  # slug, line, href
    external_links: list[tuple[str, int]] = field(default_factory=list)  # url, line


def check_body(
    issue: Issue,
    body_html: str,
    *,
    content_dir: Path,
    base_url: str,
    image_limit: int = IMAGE_LIMIT,
    removed: list[Removal] | None = None,
) -> BodyReport:
    """The body's findings; `body_html` as browsers read the author's (before sanitising),
    `removed` what the sanitiser takes out of it."""
    parser = _Collector()
    parser.feed(body_html)
    parser.close()
    report = BodyReport()
    raw = Locator(issue)  # its own: raw HTML is found apart from the elements below
    for unsafe in unsafe_html(removed or []):
        report.findings.append(
            finding("html/unsafe", issue.path, raw.find(unsafe.needle), unsafe.message)
        )
    where = Locator(issue)
    level = 1  # the title
    for element in parser.elements:
        if element.tag == "img":
            src = element.attrs.get("src", "")
            line = where.find(src) if src else issue.text_line
            report.findings += _image(issue, element, line, content_dir, image_limit)
        elif element.tag == "a":
            href = element.attrs.get("href", "")
            if href.startswith("#"):
                continue  # footnotes and their back-links
            line = where.find(f"({href}", href, f'"{href}"') if href else where.find("[]")
            _link(issue, element, href, line, base_url, report)
        else:
            heading = int(element.tag[1])
            text = "".join(element.text).strip()
            line = where.find(re.compile(rf"^ {{0,3}}#{{{heading}}}(?!#)"), f"<h{heading}", text)
            problem = _heading(heading, level, text)
            if problem:
                report.findings.append(finding("heading/skip", issue.path, line, problem))
            level = heading
    return report


def _heading(heading: int, previous: int, text: str) -> str | None:
    if heading == 1:
        return f"'# {text}' is a second h1: the title is the h1, so the body starts at ##"
    if heading > previous + 1:
        return (
            f"'{'#' * heading} {text}' skips from level {previous} to {heading}: "
            f"use {'#' * (previous + 1)}"
        )
    return None


def _link(
    issue: Issue, element: _Element, href: str, line: int, base_url: str, report: BodyReport
) -> None:
    for problem in url_problems(href):
        report.findings.append(finding(problem.rule, issue.path, line, problem.message))
    text = " ".join("".join(element.text).split())
    if vague_text(text):
        says = f"'{text}'" if text else "no text"
        report.findings.append(
            finding(
                "link/text",
                issue.path,
                line,
                f"the link to {href} says {says}: say where it goes (screen readers list links "
                "by their text)",
            )
        )
    slug = archive_slug(href, base_url)
    if slug is not None:
        report.archive_links.append((slug, line, href))
    elif external(href) and not any(f.line == line and f.rule == "link/malformed"
                                     for f in report.findings):  # fmt: skip
        report.external_links.append((href, line))


def _image(
    issue: Issue,
    element: _Element,
    line: int,
    content_dir: Path,
    image_limit: int,
) -> list[Finding]:
    src = element.attrs.get("src", "")
    found = []
    if not element.attrs.get("alt", "").strip():
        found.append(
            finding(
                "image/no-alt",
                issue.path,
                line,
                f"image {src!r} has no alt text: describe it in ![...] (many clients block "
                "images, and screen readers read the alt)",
            )
        )
    width = element.attrs.get("width", "")
    if width.isdigit() and int(width) > EMAIL_CONTENT_WIDTH:
        found.append(
            finding(
                "image/too-wide",
                issue.path,
                line,
                f"image {src!r} has width={width}, wider than the email's "
                f"{EMAIL_CONTENT_WIDTH} px: set {EMAIL_CONTENT_WIDTH} or less",
            )
        )
    if is_local(src):
        found += local_image(issue, src, line, content_dir, image_limit, has_width=bool(width))
    return found


def local_image(
    issue: Issue, src: str, line: int, content_dir: Path, image_limit: int, *, has_width: bool
) -> list[Finding]:
    """A local image: it exists under content/, is a PNG or JPEG, not too heavy or too wide."""
    image = find_image(content_dir, src)
    if isinstance(image, ImageProblem):
        return [finding(f"image/{image.kind}", issue.path, line, image.message)]
    size, path = (image.width, image.height), image.path
    found = []
    if not has_width and size[0] > EMAIL_CONTENT_WIDTH:
        found.append(
            finding(
                "image/too-wide",
                issue.path,
                line,
                f"image {src!r} is {size[0]} px wide and has no width: add "
                f'width="{EMAIL_CONTENT_WIDTH}" (Outlook shows it full size)',
            )
        )
    weight = path.stat().st_size
    if weight > image_limit:
        found.append(
            finding(
                "image/heavy",
                issue.path,
                line,
                f"image {src!r} is {weight // 1024} KB, over {image_limit // 1024} KB: "
                "resize or compress it",
            )
        )
    return found
