"""Templates to email: Jinja2 renders MJML and text, mjml-python turns the MJML into HTML.

`Renderer` holds everything built once per run (the Jinja environment, the theme, the Markdown
converter) and renders one issue at a time into an `RenderedIssue`: the body HTML for the
archive, the email HTML and text with per-recipient placeholders, and the MIME template that
personalises them cheaply. Template mistakes become `RenderError`s at the template's line.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
import tomllib
from dataclasses import dataclass
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
from sphere.mail.message import UNSUBSCRIBE_URL, MessageTemplate
from sphere.render.plaintext import html_to_text, wrap
from sphere.settings import Settings

EMAIL_TEMPLATE = "email/issue.mjml.j2"
TEXT_TEMPLATE = "email/issue.txt.j2"
THEME = "email/theme.toml"
_CONTEXT_NAMES = {"Settings": "site", "Issue": "issue"}  # class -> its name in templates


@dataclass(frozen=True)
class RenderedIssue:
    """Everything rendered from one issue, once."""

    issue: Issue
    body: Body  # archive HTML; image paths relative to content/
    cover: Image | None
    email_html: str  # with placeholders such as mail.UNSUBSCRIBE_URL
    email_text: str
    message: MessageTemplate

    @property
    def images(self) -> tuple[Image, ...]:
        return (*self.body.images, *([self.cover] if self.cover else []))


def archive_url(settings: Settings, issue: Issue) -> str:
    """The absolute URL of the issue's page in the web archive."""
    return f"{settings.base_url}issues/{issue.slug}/"


def preview_unsubscribe_url(settings: Settings) -> str:
    """What a preview shows where each reader's own unsubscribe link will be."""
    return f"{settings.endpoint_url}unsubscribe?t=PREVIEW-PERSONAL-LINK"


class Renderer:
    """Renders issues with one set of templates; build it once per run."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.env = make_environment(settings.templates_dir)
        self.theme = load_theme(settings.templates_dir)
        self.markdown = MarkdownRenderer(settings.content_dir)
        self.email_template = self._template(EMAIL_TEMPLATE)
        self.text_template = self._template(TEXT_TEMPLATE)

    def _template(self, name: str) -> jinja2.Template:
        try:
            return self.env.get_template(name)
        except jinja2.TemplateError as error:
            raise template_error(error, self.settings.templates_dir, name) from None

    def render(self, issue: Issue) -> RenderedIssue:
        """Render one issue into its email (HTML, text, MIME template) and archive body."""
        issue = self.expand_variables(issue)
        body = self.markdown.render(issue)
        cover = self.markdown.cover(issue)
        html = self.email_html(issue, body)
        text = self.email_text(issue, body)
        return self.assemble(issue, body, cover, html, text)

    def assemble(
        self, issue: Issue, body: Body, cover: Image | None, html: str, text: str
    ) -> RenderedIssue:
        """A RenderedIssue from its rendered parts (fresh, or from the build cache)."""
        message = MessageTemplate.build(
            sender=self.settings.sender,
            reply_to=self.settings.reply_to,
            subject=issue.subject,
            list_id=self.settings.list_id,
            list_name=self.settings.name,
            text=text,
            html_body=html,
            language=self.settings.language,
        )
        return RenderedIssue(issue, body, cover, html, text, message)

    def email_mjml(self, issue: Issue, body: Body) -> str:
        """The email as MJML: the theme's template around the body, its styles inline."""
        email_body = inline_styles(body.html, self.theme["inline"])
        email_body = rebase_images(email_body, body.images, self.settings.base_url)
        email_body = absolute_links(email_body, archive_url(self.settings, issue))
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
        return {
            "site": self.settings,
            "issue": issue,
            "theme": self.theme,
            "archive_url": archive_url(self.settings, issue),
            "unsubscribe_url": UNSUBSCRIBE_URL,
        }

    def _fill(self, template: jinja2.Template, name: str, **context: Any) -> str:
        try:
            return template.render(**context)
        except jinja2.TemplateError as error:
            raise template_error(error, self.settings.templates_dir, name) from None

    def expand_variables(self, issue: Issue) -> Issue:
        """Let the author write `{{ site.phone }}` in an issue; most issues skip this."""
        if "{{" not in issue.body and "{%" not in issue.body:
            return issue
        try:
            template = self.env.from_string(issue.body)
            body = template.render(site=self.settings, issue=issue)
        except jinja2.TemplateError as error:
            line = getattr(error, "lineno", None) or _template_line(error, "<template>") or 1
            raise ContentError(
                _message(error),
                path=issue.path,
                line=issue.body_line + line - 1,
            ) from None
        return Issue(**{**issue.__dict__, "body": body})


def make_environment(templates_dir: Path) -> jinja2.Environment:
    """Jinja2 for the theme: unknown variables are errors, HTML and XML are autoescaped."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html.j2", "mjml.j2", "xml.j2", "html", "xml"),
            default_for_string=False,  # an issue's body is Markdown, escaped by Markdown
        ),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters.update(longdate=longdate, tel=tel, wrap=wrap, isodate=isodate)
    return env


def load_theme(templates_dir: Path) -> dict[str, Any]:
    path = templates_dir / THEME
    try:
        theme = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RenderError("theme file not found", path=path) from None
    except tomllib.TOMLDecodeError as error:
        raise RenderError(f"not valid TOML: {error}", path=path) from None
    for table in ("colors", "fonts", "inline"):
        if not isinstance(theme.get(table), dict):
            raise RenderError(f"missing table [{table}]", path=path)
    return theme


def to_html(mjml_source: str) -> str:
    """MJML to email HTML, with no web-font links (the email asks nothing of a third party).

    mjml-python raises ValueError when the MJML does not parse.
    """
    return str(mjml.mjml2html(mjml_source, fonts={}))


def template_error(error: jinja2.TemplateError, templates_dir: Path, name: str) -> RenderError:
    """A Jinja error as `template:line: error: message`."""
    if isinstance(error, jinja2.TemplateNotFound):
        return RenderError(f"template {error.name!r} not found", path=templates_dir / name)
    line = getattr(error, "lineno", None) or _template_line(error, name)
    template_name = getattr(error, "name", None) or name
    return RenderError(_message(error), path=templates_dir / template_name, line=line)


def _message(error: jinja2.TemplateError) -> str:
    text = str(error.message or error)
    if isinstance(error, jinja2.UndefinedError):
        named = re.match(r"'[\w.]*?(\w+) object' has no attribute '(\w+)'", text)
        if named:
            owner = _CONTEXT_NAMES.get(named.group(1), named.group(1))
            return f"undefined template variable {owner}.{named.group(2)}"
        return f"undefined template variable: {text}"
    return text


def _template_line(error: BaseException, name: str) -> int | None:
    """The line Jinja was rendering when it failed, from the traceback it rewrites."""
    line = None
    traceback = error.__traceback__ or sys.exc_info()[2]
    while traceback is not None:
        filename = traceback.tb_frame.f_code.co_filename
        if filename.endswith(name) or filename == "<template>":
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


_RAW_TAG = re.compile(r"<[A-Za-z/!]")


def _first_raw_html_line(issue: Issue) -> int:
    """Where the issue's own HTML starts (the likeliest culprit), else its first line of text."""
    for offset, line in enumerate(issue.body.splitlines()):
        if _RAW_TAG.search(line.replace("`", "")) and not line.startswith("    "):
            return issue.body_line + offset
    return issue.text_line


def longdate(value: dt.date) -> str:
    """1 December 2026: the British form, no locale needed."""
    return f"{value.day} {value:%B %Y}"


def isodate(value: dt.date) -> str:
    """Midnight UTC of the date, as RFC 3339 (Atom and sitemaps want a time)."""
    return f"{value.isoformat()}T00:00:00Z"


def tel(value: str) -> str:
    """A phone number as a tel: URI: +44 (0)7747 624560 -> +447747624560."""
    return re.sub(r"[^\d+]", "", value.replace("(0)", ""))


def _tidy_text(text: str) -> str:
    """No trailing spaces, at most one blank line in a row, one final newline."""
    lines = [line.rstrip() for line in text.splitlines()]
    tidy: list[str] = []
    for line in lines:
        if line or (tidy and tidy[-1]):
            tidy.append(line)
    return "\n".join(tidy).strip("\n") + "\n"
