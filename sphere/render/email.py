"""Templates to email: Jinja2 renders MJML and text, mjml-python turns the MJML into HTML.

`Renderer` holds everything built once per run (the Jinja environments, the theme, the Markdown
converter) and renders one issue at a time into a `RenderedIssue`: the body HTML for the
archive, and the email HTML and text with per-recipient placeholders. Only sending needs a MIME
message: `sphere.mail.issue.issue_message` builds it from a `RenderedIssue`. Template mistakes
become `RenderError`s at the template's line, an issue's own `{{ ... }}` a `ContentError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from html import escape as html_escape
from pathlib import Path
from typing import Any

import jinja2
import mjml
from markupsafe import Markup

from sphere.content.issues import Issue
from sphere.content.markup import (
    Body,
    Image,
    MarkdownRenderer,
    absolute_links,
    inline_styles,
    rebase_images,
)
from sphere.errors import ContentError, RenderError
from sphere.mail.message import FIRST_NAME, PLACEHOLDERS, UNSUBSCRIBE_URL
from sphere.render.body import for_email
from sphere.render.environment import (
    BODY_LIMIT,
    TEMPLATE_FAILURES,
    issue_fields,
    make_body_environment,
    make_environment,
    message,
    reader_fields,
    render_limited,
    site_fields,
    template_error,
    template_line,
)
from sphere.render.plaintext import html_to_text
from sphere.render.theme import load_theme
from sphere.render.urls import archive_url
from sphere.settings import Settings

EMAIL_TEMPLATE = "email/issue.mjml.j2"
TEXT_TEMPLATE = "email/issue.txt.j2"


@dataclass(frozen=True)
class RenderedIssue:
    """Everything rendered from one issue, once."""

    issue: Issue
    body: Body  # archive HTML; image paths relative to content/
    cover: Image | None
    email_html: str  # with placeholders such as mail.UNSUBSCRIBE_URL
    email_text: str

    @property
    def images(self) -> tuple[Image, ...]:
        return (*self.body.images, *([self.cover] if self.cover else []))


class Renderer:
    """Renders issues with one set of templates; build it once per run.

    `markdown` and `undefined` let `sphere check` render the same way with its own rules (a
    Markdown converter that reports images instead of failing, an Undefined that records).
    `compiled`: where a build's processes share their compiled templates (make_environment).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        markdown: MarkdownRenderer | None = None,
        undefined: type[jinja2.Undefined] = jinja2.StrictUndefined,
        compiled: Path | None = None,
    ):
        self.settings = settings
        self.site = site_fields(settings)
        self.reader = reader_fields()
        self.env = make_environment(settings.templates_dir, undefined=undefined, compiled=compiled)
        self.body_env = make_body_environment()
        self.theme = load_theme(settings.templates_dir)
        self.markdown = markdown or MarkdownRenderer(settings.content_dir)
        self.email_template = self._template(EMAIL_TEMPLATE)
        self.text_template = self._template(TEXT_TEMPLATE)

    def _template(self, name: str) -> jinja2.Template:
        try:
            return self.env.get_template(name)
        except jinja2.TemplateError as error:
            raise template_error(error, self.settings.templates_dir, name) from None

    def render(self, issue: Issue) -> RenderedIssue:
        """Render one issue into its email (HTML and text) and archive body."""
        issue = self.expand_variables(issue)
        body = self.markdown.render(issue)
        cover = self.markdown.cover(issue)
        html = self.email_html(issue, body)
        text = self.email_text(issue, body)
        public = self.for_everyone(body)
        for part in (html, text, public.html):
            refuse_garbled(part, issue)
        return RenderedIssue(issue, public, cover, html, text)

    def for_everyone(self, body: Body) -> Body:
        """The body as the archive and the feed show it: `{{ reader.first_name }}` is the
        `greeting_fallback` there (escaped: the setting is text, the body HTML)."""
        if FIRST_NAME not in body.html:
            return body
        fallback = html_escape(self.settings.greeting_fallback, quote=True)
        return replace(body, html=body.html.replace(FIRST_NAME, fallback))

    def assemble(
        self, issue: Issue, body: Body, cover: Image | None, html: str, text: str
    ) -> RenderedIssue:
        """A RenderedIssue from its rendered parts (fresh, or from the build cache)."""
        return RenderedIssue(issue, body, cover, html, text)

    def email_mjml(self, issue: Issue, body: Body) -> str:
        """The email as MJML: the theme's template around the body, its styles inline."""
        email_body = for_email(body.html, self.theme["inline"].get("pre", ""))
        email_body = inline_styles(email_body, self.theme["inline"])
        email_body = rebase_images(email_body, body.images, self.settings.base_url)
        email_body = absolute_links(email_body, archive_url(self.settings, issue.slug))
        markup = Markup(email_body)  # noqa: S704 (Python-Markdown's output)
        return self._fill(self.email_template, EMAIL_TEMPLATE, body=markup, **self.context(issue))

    def email_html(self, issue: Issue, body: Body) -> str:
        """The email's HTML, with per-recipient placeholders still in it."""
        try:
            return to_html(self.email_mjml(issue, body))
        except ValueError as error:
            raise self._mjml_error(error, issue, self.context(issue)) from None

    def email_text(self, issue: Issue, body: Body) -> str:
        """The plain-text part, with per-recipient placeholders still in it."""
        plain = html_to_text(body.html)
        text = self._fill(
            self.text_template,
            TEXT_TEMPLATE,
            body=plain.text,
            references=plain.references,
            **self.context(issue),
        )
        return _tidy_text(text)

    def _mjml_error(self, error: ValueError, issue: Issue, context: dict[str, Any]) -> RenderError:
        """Blame the issue's raw HTML if the template alone parses, else the template."""
        try:
            to_html(self._fill(self.email_template, EMAIL_TEMPLATE, body="", **context))
        except ValueError:
            path = self.settings.templates_dir / EMAIL_TEMPLATE
            return RenderError(f"MJML did not parse: {error}", path=path)
        return RenderError(
            f"the email's MJML did not parse ({error}): look for unbalanced raw HTML in the issue",
            path=issue.path,
            line=_first_raw_html_line(issue),
        )

    def context(self, issue: Issue) -> dict[str, Any]:
        """What the email templates see: plain mappings, nothing that leads to the secret."""
        return {
            "site": self.site,
            "issue": issue_fields(issue),
            "theme": self.theme,
            "archive_url": archive_url(self.settings, issue.slug),
            "unsubscribe_url": UNSUBSCRIBE_URL,
            "reader": self.reader,
            "welcome": False,  # true in the welcome email (sphere.welcome), with `latest`
            "latest": None,
        }

    def body_context(self, issue: Issue) -> dict[str, Any]:
        """What an issue's own `{{ ... }}` may use: the public settings, its front matter and
        `reader.first_name` (a placeholder, filled per recipient)."""
        return {"site": self.site, "issue": issue_fields(issue), "reader": self.reader}

    def _fill(self, template: jinja2.Template, name: str, **context: Any) -> str:
        try:
            return render_limited(template, context)
        except TEMPLATE_FAILURES as error:
            raise template_error(error, self.settings.templates_dir, name) from None

    def expand_variables(self, issue: Issue) -> Issue:
        """Let the author write `{{ site.phone }}` in an issue; most issues skip this.

        Rendered in the sandbox with the public settings only: an issue may come from a guest
        author's pull request, and must neither run code nor read the secret.
        """
        if "{{" not in issue.body and "{%" not in issue.body and "{#" not in issue.body:
            return issue
        try:
            template = self.body_env.from_string(issue.body)
            body = render_limited(template, self.body_context(issue), limit=BODY_LIMIT)
        except TEMPLATE_FAILURES as error:
            raise body_error(error, issue) from None
        return replace(issue, body=body)


def body_error(error: BaseException, issue: Issue) -> ContentError:
    """A Jinja error in an issue's body, at the issue's line, with a hint where one helps."""
    line = getattr(error, "lineno", None) or template_line(error, "<template>") or 1
    text = message(error)
    if isinstance(error, jinja2.TemplateSyntaxError):
        text += (
            " (to show a literal {{ or {%, write {{ '{{' }} or put the text between"
            " {% raw %} and {% endraw %})"
        )
    return ContentError(text, path=issue.path, line=issue.body_line + line - 1, key="body")


_SPHERE_MARK = re.compile(r"%%sphere:[^%\s<>\"']*(?:%%)?", re.IGNORECASE)


def refuse_garbled(text: str, issue: Issue) -> None:
    """ContentError if `text` holds a placeholder that a filter or slice changed (`{{
    reader.first_name | upper }}` gives `%%SPHERE:FIRST-NAME%%`): personalising would leave it
    in every reader's email as it is. `sphere check` names the line (content/first-name)."""
    for found in _SPHERE_MARK.finditer(text):
        if found.group() not in PLACEHOLDERS:
            raise ContentError(
                f"the rendered email holds a changed placeholder {found.group()!r}: write "
                "{{ reader.first_name }} on its own, with no filter, slice or test "
                "(sphere check names the line)",
                path=issue.path,
            )


def to_html(mjml_source: str) -> str:
    """MJML to email HTML, with no web-font links (the email asks nothing of a third party).

    mjml-python raises ValueError when the MJML does not parse.
    """
    return str(mjml.mjml2html(mjml_source, fonts={}))


_RAW_TAG = re.compile(r"<[A-Za-z/!]")


def _first_raw_html_line(issue: Issue) -> int:
    """Where the issue's own HTML starts (the likeliest culprit), else its first line of text."""
    for offset, line in enumerate(issue.body.splitlines()):
        if _RAW_TAG.search(line.replace("`", "")) and not line.startswith("    "):
            return issue.body_line + offset
    return issue.text_line


def _tidy_text(text: str) -> str:
    """No trailing spaces, at most one blank line in a row, one final newline."""
    lines = [line.rstrip() for line in text.splitlines()]
    tidy: list[str] = []
    for line in lines:
        if line or (tidy and tidy[-1]):
            tidy.append(line)
    return "\n".join(tidy).strip("\n") + "\n"
